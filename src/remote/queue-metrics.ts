import type { Queue } from 'bullmq';
import type { TributaryError } from '../errors.js';

/** Queue depth and wait time: the autoscaling signal. */
export interface RemoteMetrics {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Age of the oldest job still waiting for a worker; 0 when none waits. */
  oldestWaitingMs: number;
}

/**
 * A queue's metrics. Redis lost since connecting fails it with what `unavailable` makes of
 * the driver's error (SOURCE_UNAVAILABLE, as for the calls). @internal
 */
export async function queueMetrics(q: Queue, unavailable: (why: string, cause?: unknown) => TributaryError): Promise<RemoteMetrics> {
  const asked = Promise.all([q.getJobCounts('waiting', 'active', 'delayed', 'failed'), q.getJobs(['wait'], 0, 0, true)]);
  const [counts, [oldest]] = await asked.catch((e: unknown) => Promise.reject(unavailable(e instanceof Error ? e.message : String(e), e)));
  return {
    queue: q.name,
    waiting: counts.waiting ?? 0,
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    failed: counts.failed ?? 0,
    oldestWaitingMs: oldest ? Math.max(0, Date.now() - oldest.timestamp) : 0,
  };
}
