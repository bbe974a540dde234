/**
 * Background work (server-side cancels) a source must finish before its pool ends, so
 * `close()` neither leaks a side connection nor ends the pool under a running cancel.
 */
export class PendingWork {
  readonly #pending = new Set<Promise<void>>();

  /** Runs `work` in the background; its failure is ignored (a cancel is best effort). */
  track(work: () => Promise<void>): void {
    const p = work().catch(() => undefined);
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Resolves once all tracked work has settled. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}
