// One place the engine announces what changed. Every transport (Electron IPC, web-mode
// WebSocket, the CLI) subscribes here; a listener that throws never stops the others.
import type { LibraryEvent } from '../shared/types.ts'

export type EventListener = (event: LibraryEvent) => void

export interface EventHub {
  emit(event: LibraryEvent): void
  /** Returns the unsubscribe function. */
  on(listener: EventListener): () => void
  readonly listeners: number
}

export function createEventHub(onListenerError: (err: unknown) => void = (err) => console.error('lookalike: event listener failed:', err)): EventHub {
  const listeners = new Set<EventListener>()
  return {
    emit(event) {
      for (const listener of [...listeners]) {
        try {
          listener(event)
        } catch (err) {
          onListenerError(err)
        }
      }
    },
    on(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    get listeners() {
      return listeners.size
    },
  }
}
