// What one training run owns besides its maths: the tensors it must dispose (also on cancel or
// error: the wasm heap is bounded), its cancellation, and turns for other work in the thread.
import { tf } from './tf.ts'

/** Thrown when training is cancelled through its AbortSignal; nothing was produced. */
export class TrainingCancelled extends Error {
  constructor() {
    super('Training cancelled')
    this.name = 'TrainingCancelled'
  }
}

export function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new TrainingCancelled()
}

/** Lets cancellation and other work in the thread get a turn (works in Node and in a page). */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}

/** tfjs variable names are global per thread: keep them unique across trainings. */
let variableSerial = 0

export class TensorScope {
  private readonly owned: tf.Tensor[] = []

  /** A trainable variable initialised from `t` (which the scope disposes). */
  variable<R extends tf.Rank>(t: tf.Tensor<R>, name: string): tf.Variable<R> {
    const v = tf.variable(t, true, `dpq_${name}_${++variableSerial}`)
    t.dispose()
    this.owned.push(v)
    return v
  }

  constant<T extends tf.Tensor>(t: T): T {
    this.owned.push(t)
    return t
  }

  dispose(): void {
    for (const t of this.owned) t.dispose()
    this.owned.length = 0
  }
}
