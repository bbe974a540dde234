import { Job, type Queue } from 'bullmq';
import { errorCodes, TributaryError, type ErrorCode } from '../errors.js';
import { parseRemoteFailure, type RemoteCounts } from './codec.js';

const STALLED = /stalled/i;

/** A job's count of requests sent (data from Redis): a positive integer, else none. @internal */
export const requestsOf = (n: unknown): number | undefined => (Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : undefined);

/** What a job's worker reported (its result, or its failure) of its requests. @internal */
export const countsOf = (report: { requests?: unknown; shared?: unknown } | undefined): RemoteCounts => ({ requests: requestsOf(report?.requests), shared: report?.shared === true });

/**
 * The requests a failed job sent: as its worker wrote them, or — BullMQ failed the job itself,
 * its worker gone — as `reclaim` finds them in its fragment's count (ending the job there, see
 * job-requests.ts), when it had one. @internal
 */
export async function failedJobCounts(reason: string | undefined, reclaim: (() => Promise<number>) | undefined): Promise<RemoteCounts> {
  const remote = parseRemoteFailure(reason);
  if (remote || reclaim === undefined) return countsOf(remote);
  return { requests: requestsOf(await reclaim()), shared: true };
}

/**
 * The error a failed job stands for, on the coordinator: the worker's classified failure as it
 * wrote it (code, retryable, driver code), or — when BullMQ failed the job itself, a stalled
 * job whose worker died or hung mid-call — a retryable SOURCE_UNAVAILABLE naming that worker
 * (`startedBy`, else the job's `processedBy`). Its counts as `failedJobCounts` finds them. @internal
 */
export async function jobFailure(q: Queue, queue: string, jobId: string, reason: string, startedBy: string | undefined, reclaim?: () => Promise<number>): Promise<{ error: TributaryError; worker: string | undefined; counts: RemoteCounts }> {
  const remote = parseRemoteFailure(reason);
  if (remote) {
    const code: ErrorCode = (errorCodes as string[]).includes(remote.code) ? (remote.code as ErrorCode) : 'FRAGMENT_FAILED';
    const error = new TributaryError(code, remote.message, {
      retryable: remote.retryable,
      ...(remote.driverCode === undefined ? {} : { driverCode: remote.driverCode }),
      ...(remote.retryAfterMs === undefined ? {} : { retryAfterMs: remote.retryAfterMs }),
      ...(remote.noEffect === true ? { noEffect: true } : {}),
    });
    return { error, worker: remote.worker, counts: countsOf(remote) };
  }
  const worker = startedBy ?? (await Job.fromId(q, jobId).catch(() => undefined))?.processedBy;
  const why = STALLED.test(reason) ? `its worker${worker ? ` ${worker}` : ''} stopped answering (${reason})` : reason;
  return { error: new TributaryError('SOURCE_UNAVAILABLE', `job ${jobId} on queue "${queue}" failed: ${why}`, { retryable: true }), worker, counts: await failedJobCounts(reason, reclaim) };
}
