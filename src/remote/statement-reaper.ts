import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Principal, SourceExecutor } from '../sources/source.js';
import { checkedPayload } from './job-check.js';
import { encodePayload, type JobData } from './codec.js';
import { scrubJob } from './job-scrub.js';
import type { remoteKeys } from './connection.js';

/** How long a worker's claim on reaping one job holds off the others. */
const CLAIM_MS = 60_000;
/** How long a stalled job's principal waits for the worker that claims its reaping (claims come within ms of the announcement). */
const PRINCIPAL_MS = 10_000;

/**
 * Stops, on the database, the statement of a job whose worker died (SIGKILL, a crash, an
 * event loop blocked past its lock). PostgreSQL notices a dead client by itself
 * (`client_connection_check_interval`); MariaDB runs its statement on to its end or its
 * `max_statement_time`. So each job's statement carries the job id as its tag
 * (`ExecuteContext.callTag`), and when a job is failed as stalled the worker that fails it
 * announces it on the queue's reap channel; the first live worker serving that source to
 * claim it (`SET NX`) stops the tagged statement with its own connection, as the job's
 * principal (`SourceExecutor.stopTagged`). Best effort: with no such worker listening, the
 * statement runs on to its budget. @internal
 */
export class StatementReaper {
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    private readonly client: Redis,
    private readonly keys: ReturnType<typeof remoteKeys>,
    private readonly worker: string,
    private readonly sources: Record<string, SourceExecutor>,
  ) {}

  /**
   * A job failed as stalled: its call is taken out of it (job-scrub.ts), its principal kept
   * apart for `PRINCIPAL_MS` (the statement ran as its account), and the live workers (this
   * one too) are asked to stop its statement.
   */
  announce(job: Job<JobData>): void {
    const { id: jobId, data } = job;
    if (jobId === undefined || typeof data.source !== 'string') return;
    this.#track((async () => {
      const { principal } = await this.#principalOf(() => data.payload);
      if (principal !== undefined) await this.client.set(this.keys.principal(jobId), encodePayload({ query: null, params: [], principal }), 'PX', PRINCIPAL_MS);
      await scrubJob(job);
      await this.client.publish(this.keys.reapChannel, JSON.stringify({ jobId, source: data.source }));
    })());
  }

  /** A message on the reap channel: stops the job's statement if this worker serves its source and claims it first. */
  heard(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    const { jobId, source } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { jobId?: unknown; source?: unknown };
    if (typeof jobId !== 'string' || typeof source !== 'string' || !Object.hasOwn(this.sources, source)) return;
    const own = this.sources[source]!;
    if (own.stopTagged === undefined) return;
    this.#track(this.#reap(jobId, own));
  }

  async #reap(jobId: string, source: SourceExecutor): Promise<void> {
    if ((await this.client.set(this.keys.reaped(jobId), this.worker, 'PX', CLAIM_MS, 'NX')) !== 'OK') return;
    // The one claimer reads the job's principal (its statement ran as its account) and deletes it.
    await source.stopTagged!(jobId, { ...(await this.#principalOf(() => this.client.getdel(this.keys.principal(jobId)))) });
  }

  /** The principal of an encoded call, if it can be read. */
  async #principalOf(read: () => unknown): Promise<{ principal?: Principal }> {
    try {
      const { principal } = checkedPayload(await read());
      return principal === undefined ? {} : { principal };
    } catch {
      return {};
    }
  }

  #track(work: Promise<unknown>): void {
    const p = work.catch(() => undefined);
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Resolves when the reaps under way are over. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}
