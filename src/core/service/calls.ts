// What every transport needs from the service: its shape, one validated entry point, and one
// way to turn any thrown value into the { code, message } that crosses the wire.
import { ApiError, contract, parseInput, type ApiErrorCode, type Method, type Output, type ParsedInput } from '../../shared/contract.ts'
import type { LibraryEvent } from '../../shared/types.ts'
import { StoreError } from '../store/errors.ts'

/** Each contract method, taking input already parsed by `parseInput`. */
export type ServiceMethods = { [M in Method]: (input: ParsedInput<M>) => Promise<Output<M>> }

export type ImageSize = 'thumb' | 'full'

export interface LookalikeService extends ServiceMethods {
  onEvent(listener: (event: LibraryEvent) => void): () => void
  /**
   * Absolute path of a photo's thumbnail or original, by id only. Throws ApiError 'not-found'
   * for an unknown photo and refuses any file outside the library roots / thumbnail folder.
   */
  imageFile(photoId: number, size: ImageSize): Promise<string>
  /**
   * Removing duplicate copies, for the desktop app's trash only (no transport routes it): `handOver`
   * carries the copies' albums to the keeper and returns their files, checked inside the library;
   * `forget` drops the photos whose files went to the trash.
   */
  removal: {
    handOver(keeperId: number, photoIds: readonly number[]): Promise<{ id: number; file: string }[]>
    forget(photoIds: readonly number[]): Promise<void>
  }
  close(): Promise<void>
}

export function isMethod(name: string): name is Method {
  return Object.hasOwn(contract, name)
}

/** Validates `input` against the contract and calls the service: the one door for every transport. */
export async function callService(service: LookalikeService, method: string, input: unknown): Promise<unknown> {
  if (!isMethod(method)) throw new ApiError('not-found', `Unknown method: ${method}`)
  const parsed = parseInput(method, input)
  const call = service[method] as (input: unknown) => Promise<unknown>
  return call.call(service, parsed)
}

export interface WireError {
  code: ApiErrorCode
  message: string
}

/** A repository's StoreError becomes the API's error with the same code; anything else passes. */
export function asApiError(err: unknown): unknown {
  return err instanceof StoreError ? new ApiError(err.code, err.message) : err
}

/** The service with every contract method and `imageFile` throwing ApiErrors where a repository refused. */
export function withApiErrors(service: LookalikeService): LookalikeService {
  const translated = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn.apply(service, args)
      } catch (err) {
        throw asApiError(err)
      }
    }
  const wrapped: Record<string, unknown> = { ...service }
  for (const name of Object.keys(contract)) wrapped[name] = translated(service[name as Method] as (input: unknown) => Promise<unknown>)
  wrapped.imageFile = translated(service.imageFile)
  return wrapped as unknown as LookalikeService
}

/** ApiErrors (and store errors) keep their code and message; anything else is an internal error (logged, not leaked). */
export function toWireError(err: unknown, log: (err: unknown) => void = (e) => console.error('lookalike:', e)): WireError {
  if (err instanceof ApiError || err instanceof StoreError) return { code: err.code, message: err.message }
  log(err)
  return { code: 'internal', message: `Internal error: ${err instanceof Error ? err.message : String(err)}` }
}

export const httpStatusFor: Record<ApiErrorCode, number> = {
  'bad-request': 400,
  'not-found': 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
}
