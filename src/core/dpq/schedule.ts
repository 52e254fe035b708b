// Which step each epoch runs. 'alternating' (the authors' code) and 'joint' train the network
// alone for the warm-up share of the epochs, then quantize too; 'sequential' trains the network
// for every epoch and fits the codebooks afterwards on fixed embeddings (L_Q never reaches the
// network in the alternating schedule, so nothing is lost by not interleaving).
import type { Schedule } from './model.ts'
import { sampleIndices, shuffle, type Rng } from './prng.ts'
import type { StepContext, StepKind } from './steps.ts'
import { trainStep } from './steps.ts'
import { tf } from './tf.ts'
import { checkCancelled, yieldTurn } from './training-scope.ts'
import type { TrainHooks } from './train.ts'

export interface SchedulePlan {
  /** Epochs that train the network alone, before the codebooks are initialised. */
  warmupEpochs: number
  /** Network epochs plus codebook-only epochs ('sequential'), for progress. */
  totalEpochs: number
  stepKind(epoch: number): StepKind
}

export function planSchedule(o: { schedule: Schedule; epochs: number; warmup: number; codebookEpochs: number }): SchedulePlan {
  const sequential = o.schedule === 'sequential'
  const warmupEpochs = sequential ? o.epochs : Math.min(o.epochs, Math.round(o.epochs * o.warmup))
  return {
    warmupEpochs,
    totalEpochs: o.epochs + (sequential ? o.codebookEpochs : 0),
    stepKind: (epoch) => (epoch <= warmupEpochs ? 'network' : o.schedule === 'joint' ? 'joint' : 'alternating'),
  }
}

export interface EpochRun {
  epochs: number
  batchSize: number
  /** Rows of the labelled and (sampled per step) unlabelled inputs. */
  labelledRows: number
  unlabelledRows: number
  /** Called once, before the first epoch that quantizes. */
  startQuantizing(): Promise<void>
}

/** The network epochs: shuffled album-photo batches, each with a sample of photos in no album. */
export async function runEpochs(plan: SchedulePlan, c: StepContext, run: EpochRun, rng: Rng, hooks: TrainHooks): Promise<void> {
  const stepsPerEpoch = Math.ceil(run.labelledRows / run.batchSize)
  const order = Array.from({ length: run.labelledRows }, (_, i) => i)
  let step = 0
  let quantizing = false
  for (let epoch = 1; epoch <= run.epochs; epoch++) {
    const kind = plan.stepKind(epoch)
    if (kind !== 'network' && !quantizing) {
      await run.startQuantizing()
      quantizing = true
    }
    shuffle(order, rng)
    const sums: Record<string, number> = {}
    for (let s = 0; s < stepsPerEpoch; s++) {
      checkCancelled(hooks.signal)
      step++
      const labelled = tf.tensor1d(order.slice(s * run.batchSize, (s + 1) * run.batchSize), 'int32')
      const unlabelled = c.unlabelled ? tf.tensor1d(sampleIndices(run.unlabelledRows, run.batchSize, rng), 'int32') : null
      const terms = trainStep(kind, c, { labelled, unlabelled, step })
      for (const [name, t] of Object.entries(terms)) {
        sums[name] = (sums[name] ?? 0) + (await t.data())[0]
        t.dispose()
      }
      labelled.dispose()
      unlabelled?.dispose()
      if (s % 4 === 3) await yieldTurn()
    }
    const loss = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / stepsPerEpoch]))
    hooks.onProgress?.({ done: epoch, total: plan.totalEpochs, epoch, loss, stage: quantizing ? 'quantization' : 'network' })
  }
}
