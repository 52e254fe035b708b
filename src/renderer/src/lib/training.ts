// How retraining reads in the UI: the engine's plan for deeper fine-tuning, the job's stage, the active model.
import type { FeatureUpgrade, JobProgress, ModelInfo, TrainPlan } from '../../../shared/types.ts'
import { formatCount } from './format.ts'
import { isLive } from './jobs.ts'

/** The engine's plan for this Retrain: being asked for, known, or unknown (the call failed). */
export type PlanState = 'estimating' | 'unknown' | TrainPlan

/**
 * Where the "Deeper fine-tuning" checkbox starts: the engine's default (trainPlan: on the GPU, and
 * on CPU when it fits the retraining budget); unchecked when the plan is not known.
 */
export function finetuneDefault(plan: PlanState): boolean {
  return typeof plan === 'object' && plan.finetune === 'late'
}

/** An estimated duration: "under 1 s", "about 2 s", "about 89 s", "about 4 min", "about 2 h". */
export function formatEstimate(seconds: number): string {
  if (seconds < 1) return 'under 1 s'
  if (seconds < 90) return `about ${Math.round(seconds)} s`
  const minutes = Math.round(seconds / 60)
  return minutes < 90 ? `about ${minutes} min` : `about ${Math.round(seconds / 3600)} h`
}

/** The estimate under the checkbox: "About 2 s here."; "" until the plan is known or when it costs nothing. */
export function planEstimate(plan: PlanState): string {
  if (typeof plan !== 'object' || !(plan.lateSeconds > 0)) return ''
  const estimate = formatEstimate(plan.lateSeconds)
  return `${estimate[0].toUpperCase()}${estimate.slice(1)} here.`
}

/** One line for where a training job is: "Reading activation maps 120/500", "Epoch 3/20", … */
export function trainStage(job: Pick<JobProgress, 'state' | 'done' | 'total' | 'stage' | 'epoch'>): string {
  if (job.stage === 'waiting') return 'Waiting for another Lookalike to finish…'
  if (job.state === 'queued' || (job.total === 0 && !job.stage)) return 'Starting…'
  const count = `${formatCount(job.done)}/${formatCount(job.total)}`
  if (job.stage === 'reading activations') return `Reading activation maps ${count}`
  if (job.stage === 'encoding') return `Encoding your photos ${count}`
  if (job.stage === 'neighbours') return `Finding each photo's look-alikes ${count}`
  if (job.stage === 'final pass') return `Training again on every album photo, epoch ${count}`
  if (job.epoch != null) return `${job.stage === 'codebooks' ? 'Fitting codebooks' : 'Training'}, epoch ${count}`
  return count
}

/** The active model in the status bar's words. */
export function describeModel(model: ModelInfo | null | undefined): string {
  if (!model) return 'no model yet'
  const parts = [`model #${model.id}`, model.kind === 'supervised' ? `trained on ${model.albums} albums` : 'unsupervised']
  if (model.finetune === 'late') parts.push('fine-tuned')
  return parts.join(' · ')
}

/**
 * The library's own model being fitted or refitted in the background (an encode job: the first
 * model, the library grew, a better method), in the status bar's words ("" when none).
 */
export function describeModelUpdate(job: Pick<JobProgress, 'state' | 'done' | 'total' | 'stage'> | null | undefined): string {
  if (!job || !isLive(job)) return ''
  const count = `${formatCount(job.done)}/${formatCount(job.total)}`
  if (job.stage === 'neighbours') return `finding each photo's look-alikes ${count}`
  if (job.stage === 'unsupervised') return `fitting the search model, block ${count}`
  if (job.stage === 'encoding') return `coding photos for search ${count}`
  if (job.stage === 'waiting') return 'search model update waiting for another Lookalike'
  return 'updating the search model…'
}

/** A feature upgrade in the status bar's words ("" when none): search keeps the active model meanwhile. */
export function describeUpgrade(upgrade: FeatureUpgrade | null | undefined): string {
  if (!upgrade) return ''
  const count = `${formatCount(upgrade.done)}/${formatCount(upgrade.total)}`
  const what = upgrade.jobId === null ? `new image feature ${count}, carries on at the next start` : `upgrading to a new image feature ${count}`
  return upgrade.retrain ? `${what} · then a Retrain on your albums` : what
}
