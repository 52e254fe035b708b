// Background jobs as the views follow them.
import type { JobProgress } from '../../../shared/types.ts'

/** Whether a job is still to finish (queued or running). */
export function isLive(job: Pick<JobProgress, 'state'> | null | undefined): boolean {
  return job != null && (job.state === 'running' || job.state === 'queued')
}
