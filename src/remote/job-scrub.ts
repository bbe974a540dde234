import type { Job } from 'bullmq';
import type { JobData } from './codec.js';

/**
 * Takes the call out of a job that failed: BullMQ keeps a failed job (an hour, for
 * dashboards), and its payload holds the call's bound values and its principal's claims. What
 * is left names the source and the fragment; the failure's reason (masked, see
 * toRemoteFailure) says why. Best effort: a job already gone, or Redis lost, is left as it is.
 * @internal
 */
export async function scrubJob(job: Job<JobData>): Promise<void> {
  const { source, fragmentId } = job.data;
  await job.updateData({ source, fragmentId }).catch(() => undefined);
}
