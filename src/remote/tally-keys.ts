import type { RemoteCounts } from './codec.js';

/**
 * The coordinator's side of its fragments' request counts in Redis (job-requests.ts): a count
 * lives while a job of its fragment is out and is deleted once the last has ended on its
 * worker (completed, failed, or removed before it ran) — every report is in by then, so the
 * fragment's tally on the coordinator holds what it sent, and the next job seeds the count
 * from it again. A job never heard from again leaves its count to `close()` or its TTL. @internal
 */
export class TallyKeys {
  /** Jobs out per count (by the tally name a job carries). */
  readonly #jobs = new Map<string, number>();
  /** Deletes under way: a job of the same fragment is queued only after its delete has landed. */
  readonly #dropping = new Map<string, Promise<void>>();

  constructor(private readonly drop: (tally: string) => Promise<unknown>) {}

  /**
   * A job about to be queued, out for the count `tally` (none: a job without one). `counted`
   * passes its counts on to `onCounts` and, the first time, ends it; `landed`, when set, is a
   * delete of the count to wait for before queueing the job.
   */
  job(tally: string | undefined, onCounts?: (counts: RemoteCounts) => void): { landed: Promise<void> | undefined; counted(counts: RemoteCounts): void } {
    let out = tally;
    const counted = (counts: RemoteCounts): void => {
      onCounts?.(counts);
      if (out !== undefined) this.end(out);
      out = undefined;
    };
    return { landed: tally === undefined ? undefined : this.begin(tally), counted };
  }

  /** A job of the fragment is about to be queued; the promise (if any) of a delete to wait for. */
  begin(tally: string): Promise<void> | undefined {
    this.#jobs.set(tally, (this.#jobs.get(tally) ?? 0) + 1);
    return this.#dropping.get(tally);
  }

  /** A job has ended (or was never queued): the last one out deletes the count. */
  end(tally: string): void {
    const left = (this.#jobs.get(tally) ?? 1) - 1;
    if (left > 0) {
      this.#jobs.set(tally, left);
      return;
    }
    this.#jobs.delete(tally);
    const dropped: Promise<void> = this.drop(tally).then(
      () => this.#settled(tally, dropped),
      () => this.#settled(tally, dropped),
    );
    this.#dropping.set(tally, dropped);
  }

  /** Deletes the counts of jobs still out (the coordinator closes: none will be heard of), and waits for every delete. */
  async close(): Promise<void> {
    for (const tally of [...this.#jobs.keys()]) {
      this.#jobs.set(tally, 1);
      this.end(tally);
    }
    await Promise.allSettled([...this.#dropping.values()]);
  }

  #settled(tally: string, dropped: Promise<void>): void {
    if (this.#dropping.get(tally) === dropped) this.#dropping.delete(tally);
  }
}
