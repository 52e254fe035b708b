// When Retrain makes sense: the service's own rule (shared/retrain.ts), so the button is never enabled in vain.
import { retrainRefusal } from '../../../shared/retrain.ts'
import type { Album } from '../../../shared/types.ts'

export function canRetrain(albums: Album[]): boolean {
  return retrainRefusal(albums) === null
}

/** What the Retrain button tells the user: what it does, or what to do next. */
export function retrainHint(albums: Album[]): string {
  return retrainRefusal(albums) ?? 'Teach Lookalike what "similar" means from your albums'
}
