// How retraining reads in the UI: the deeper fine-tuning default, the job's stage, the active model.
import type { JobProgress, ModelInfo } from '../../../shared/types.ts'
import { formatCount } from './format.ts'

/**
 * Deeper fine-tuning starts checked only where the engine runs on the GPU: on the CPU it trains
 * ~75x slower and measured worse (docs/dpq.md), the same rule the engine applies when not told.
 */
export function finetuneByDefault(backend: string | undefined): boolean {
  return backend === 'node-gpu'
}

/** One line for where a training job is: "Reading activation maps 120/500", "Epoch 3/20", … */
export function trainStage(job: Pick<JobProgress, 'state' | 'done' | 'total' | 'current' | 'epoch'>): string {
  if (job.state === 'queued' || (job.total === 0 && job.current === null)) return 'Starting…'
  const count = `${formatCount(job.done)}/${formatCount(job.total)}`
  if (job.current === 'reading activations') return `Reading activation maps ${count}`
  if (job.current === 'encoding') return `Encoding your photos ${count}`
  if (job.epoch != null) return `${job.current === 'codebooks' ? 'Fitting codebooks' : 'Training'}, epoch ${count}`
  return count
}

/** The active model in the status bar's words. */
export function describeModel(model: ModelInfo | null | undefined): string {
  if (!model) return 'no model yet'
  const parts = [`model #${model.id}`, model.kind === 'supervised' ? `trained on ${model.albums} albums` : 'unsupervised']
  if (model.finetune === 'late') parts.push('fine-tuned')
  return parts.join(' · ')
}
