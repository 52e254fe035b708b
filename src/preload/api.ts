// Builds `window.lookalike` from the contract's method list: exactly the contract, plus events,
// image URLs and the folder picker. Pure: takes Electron's invoke/subscribe so tests need no Electron.
import { ApiError, methods, type ApiErrorCode, type LookalikeApi } from '../shared/contract.ts'
import type { LibraryEvent, TrashResult } from '../shared/types.ts'
import { EVENT_CHANNEL, PICK_FOLDER_CHANNEL, TRASH_CHANNEL, channelFor, type IpcAnswer } from './channels.ts'

export type Invoke = (channel: string, input: unknown) => Promise<unknown>
export type Subscribe = (channel: string, listener: (payload: unknown) => void) => () => void

/** Custom protocol URLs; the protocol handler resolves the id, never a path. */
export function desktopImageUrl(photoId: number, size: 'thumb' | 'full'): string {
  return `lookalike://${size === 'full' ? 'full' : 'thumb'}/${Math.trunc(photoId)}`
}

function unwrap(answer: unknown): unknown {
  const a = answer as IpcAnswer
  if (a && typeof a === 'object' && 'error' in a) throw new ApiError(a.error.code as ApiErrorCode, a.error.message)
  return (a as { result: unknown }).result
}

export function buildDesktopApi(invoke: Invoke, subscribe: Subscribe): LookalikeApi {
  const calls = Object.fromEntries(methods.map((m) => [m, async (input: unknown) => unwrap(await invoke(channelFor(m), input ?? {}))]))
  return Object.freeze({
    ...calls,
    onEvent: (listener: (event: LibraryEvent) => void) => subscribe(EVENT_CHANNEL, (payload) => listener(payload as LibraryEvent)),
    imageUrl: desktopImageUrl,
    transport: 'desktop' as const,
    pickFolder: async () => unwrap(await invoke(PICK_FOLDER_CHANNEL, {})) as string | null,
    trashDuplicates: async (input: unknown) => unwrap(await invoke(TRASH_CHANNEL, input)) as TrashResult,
  }) as LookalikeApi
}
