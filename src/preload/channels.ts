// IPC channel names, derived from the contract's method names: one place, both sides.
import type { Method } from '../shared/contract.ts'

export const channelFor = (method: Method): string => `lookalike:${method}`
/** Engine events, main → every window. */
export const EVENT_CHANNEL = 'lookalike:event'
/** The native folder picker (desktop only, not part of the contract). */
export const PICK_FOLDER_CHANNEL = 'lookalike:pick-folder'
/** Moving duplicate copies to the OS trash (desktop only, see desktopContract). */
export const TRASH_CHANNEL = 'lookalike:trash-duplicates'

/** What every handler answers: never a thrown error (Electron would log it and lose the code). */
export type IpcAnswer = { result: unknown } | { error: { code: string; message: string } }
