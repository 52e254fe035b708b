// IPC handlers derived from the contract: one channel per method, each call checked for its sender
// (our window's top frame, on the app's page) and validated against the zod schema before the
// service sees it. Answers are { result } or { error: { code, message } }, never a thrown error.
import { desktopContract, methods, type Method } from '../shared/contract.ts'
import { callService, toWireError, type LookalikeService } from '../core/service.ts'
import { ApiError } from '../shared/contract.ts'
import { PICK_FOLDER_CHANNEL, TRASH_CHANNEL, channelFor, type IpcAnswer } from '../preload/channels.ts'
import { isAppUrl } from './security.ts'

/** What a handler knows about who is calling. */
export interface Sender {
  webContentsId: number
  frame: { url: string; parent: unknown } | null
}

/** Trusted: our window's web contents, its top frame (not an iframe), showing the app's page. */
export function isTrustedSender(sender: Sender, windowContentsId: number | null, appUrl: string): boolean {
  if (windowContentsId === null || sender.webContentsId !== windowContentsId) return false
  if (!sender.frame || sender.frame.parent) return false
  return isAppUrl(sender.frame.url, appUrl)
}

export interface IpcDispatcherOptions {
  service: LookalikeService
  /** The id of our window's web contents (null before it exists). */
  windowContentsId: () => number | null
  appUrl: string
  pickFolder: () => Promise<string | null>
  /** Moves duplicate copies to the OS trash (src/main/trash.ts); input not yet validated. */
  trashDuplicates?: (input: unknown) => Promise<unknown>
  log?: (err: unknown) => void
}

export type Dispatch = (channel: string, sender: Sender, input: unknown) => Promise<IpcAnswer>

/** The channels to register and one function that answers any of them. */
export function createIpcDispatcher(options: IpcDispatcherOptions): { channels: string[]; dispatch: Dispatch } {
  const byChannel = new Map<string, Method>(methods.map((m) => [channelFor(m), m]))
  const dispatch: Dispatch = async (channel, sender, input) => {
    try {
      if (!isTrustedSender(sender, options.windowContentsId(), options.appUrl)) throw new ApiError('bad-request', 'Refused: the call did not come from the Lookalike window')
      if (channel === PICK_FOLDER_CHANNEL) return { result: await options.pickFolder() }
      if (channel === TRASH_CHANNEL) {
        if (!options.trashDuplicates) throw new ApiError('unavailable', 'Moving files to the trash is not available here')
        const parsed = desktopContract.trashDuplicates.input.safeParse(input ?? {})
        if (!parsed.success) throw new ApiError('bad-request', `Invalid arguments for trashDuplicates: ${parsed.error.issues.map((i) => i.message).join('; ')}`)
        return { result: await options.trashDuplicates(parsed.data) }
      }
      const method = byChannel.get(channel)
      if (!method) throw new ApiError('not-found', `Unknown channel: ${channel}`)
      return { result: await callService(options.service, method, input) }
    } catch (err) {
      return { error: toWireError(err, options.log) }
    }
  }
  return { channels: [...byChannel.keys(), PICK_FOLDER_CHANNEL, ...(options.trashDuplicates ? [TRASH_CHANNEL] : [])], dispatch }
}
