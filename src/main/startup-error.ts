// What the desktop app says when it cannot open its library (damaged, foreign, newer schema):
// the engine's one-sentence message in a native dialog, instead of a blank window.
import { LibraryFileError } from '../core/store/library-file.ts'
import { ApiError } from '../shared/contract.ts'

export interface StartupFailure {
  title: string
  message: string
}

export function startupFailure(err: unknown, dbFile: string): StartupFailure {
  if (err instanceof ApiError || err instanceof LibraryFileError) return { title: 'Lookalike cannot open its library', message: err.message }
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err)
  return { title: 'Lookalike could not start', message: `Opening the library ${dbFile} failed: ${detail}` }
}
