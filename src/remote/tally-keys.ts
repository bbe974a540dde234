import type { RemoteCounts } from './codec.js';

/**
 * The coordinator's side of its fragments' request counts in Redis (job-requests.ts): a count
 * lives while a job of its fragment is out and is deleted once the last has ended on its
 * worker (completed, failed, or removed before it ran) — every report is in by then, so the
 * fragment's tally on the coordinator holds what it sent, and the next job seeds the count
 * from it again. A fragment whose cap the coordinator lifted has a count only if a worker's
 * own cap made one: it is deleted only when a job says so (`RemoteCounts.shared`), so a cap
 * lifted on both sides costs no Redis command. A job never heard from again leaves its count
 * to `close()` or its TTL. @internal
 */
export class TallyKeys {
  /** Per count (by the tally name a job carries): its jobs out, and whether it may exist in Redis. */
  readonly #jobs = new Map<string, { out: number; made: boolean }>();
  /** Deletes under way: a job of the same fragment is queued only after its delete has landed. */
  readonly #dropping = new Map<string, Promise<void>>();

  constructor(private readonly drop: (tally: string) => Promise<unknown>) {}

  /**
   * A job about to be queued, out for the count `tally` (none: a job without one; `lifted`:
   * its coordinator's cap is lifted, so only its worker's own may make the count). `counted`
   * passes its counts on to `onCounts` and, the first time, ends it; `landed`, when set, is a
   * delete of the count to wait for before queueing the job.
   */
  job(tally: string | undefined, onCounts?: (counts: RemoteCounts) => void, lifted = false): { landed: Promise<void> | undefined; counted(counts: RemoteCounts): void } {
    let out = tally;
    const counted = (counts: RemoteCounts): void => {
      onCounts?.(counts);
      if (out !== undefined) this.end(out, counts.shared === true);
      out = undefined;
    };
    return { landed: tally === undefined ? undefined : this.begin(tally, !lifted), counted };
  }

  /** A job of the fragment is about to be queued (`made`: it makes the count); the promise (if any) of a delete to wait for. */
  begin(tally: string, made = true): Promise<void> | undefined {
    const jobs = this.#jobs.get(tally) ?? { out: 0, made: false };
    this.#jobs.set(tally, { out: jobs.out + 1, made: jobs.made || made });
    return this.#dropping.get(tally);
  }

  /** A job has ended (or was never queued; `made`: it made the count): the last one out deletes the count, if there is one. */
  end(tally: string, made = false): void {
    const jobs = this.#jobs.get(tally) ?? { out: 1, made: true };
    if (jobs.out > 1) {
      this.#jobs.set(tally, { out: jobs.out - 1, made: jobs.made || made });
      return;
    }
    this.#jobs.delete(tally);
    if (!jobs.made && !made) return;
    const dropped: Promise<void> = this.drop(tally).then(
      () => this.#settled(tally, dropped),
      () => this.#settled(tally, dropped),
    );
    this.#dropping.set(tally, dropped);
  }

  /** Deletes the counts of jobs still out (the coordinator closes: none will be heard of), and waits for every delete. */
  async close(): Promise<void> {
    for (const tally of [...this.#jobs.keys()]) {
      this.#jobs.set(tally, { out: 1, made: true });
      this.end(tally);
    }
    await Promise.allSettled([...this.#dropping.values()]);
  }

  #settled(tally: string, dropped: Promise<void>): void {
    if (this.#dropping.get(tally) === dropped) this.#dropping.delete(tally);
  }
}
