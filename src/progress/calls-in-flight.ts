import type { ExecutionEvent } from './events.js';

/** One fragment's calls in flight (count per `batch@attempt`, `joined` for a shared load) and batches waiting to retry. */
interface FragmentCalls {
  readonly source: string;
  readonly calls: Map<string, number>;
  readonly retries: Set<number>;
}

/**
 * A run's source calls in flight and retries waiting, per fragment, folded from its events: what
 * the CLI's progress bar and the live page say is running. Calls are counted per batch and
 * attempt (`1@2`): a batched bind join runs several at once (a hedged call two), so one that
 * fails — its batch retried after a backoff — leaves the fragment running while another of its
 * calls still runs, and the fragment is only waiting to retry once none does. A fragment sharing
 * another load (`fragment.joined`) runs until it settles. A settled fragment is forgotten.
 */
export class CallsInFlight {
  readonly #fragments = new Map<string, FragmentCalls>();

  /** Folds one event in; events that start, end or retry no call change nothing. */
  note(e: ExecutionEvent): void {
    switch (e.type) {
      case 'fragment.started':
      case 'fragment.hedged': {
        const f = this.#of(e);
        f.calls.set(key(e), (f.calls.get(key(e)) ?? 0) + 1);
        if (e.type === 'fragment.started') f.retries.delete(e.batch.index);
        return;
      }
      case 'fragment.joined':
        this.#of(e).calls.set('joined', 1);
        return;
      case 'fragment.retrying':
        this.#of(e).retries.add(e.batch.index);
        return;
      case 'fragment.attempt.failed':
      case 'fragment.batch.succeeded':
        // The try failed, or the batch answered: every call of it has ended (both of a hedged pair).
        return this.#ended(e, true);
      case 'fragment.hedge.ended':
        return this.#ended(e, false);
      case 'fragment.succeeded':
      case 'fragment.failed':
      case 'fragment.skipped':
      case 'fragment.dropped':
      case 'fragment.cancelled':
        this.#fragments.delete(e.fragmentId);
        return;
      case 'query.done':
      case 'query.failed':
        this.#fragments.clear();
        return;
      default:
        return;
    }
  }

  /** True while a call of the fragment is in flight (or it shares a load in flight). */
  running(fragmentId: string): boolean {
    return (this.#fragments.get(fragmentId)?.calls.size ?? 0) > 0;
  }

  /** True when a batch of the fragment waits out its backoff before its next try. */
  waitingToRetry(fragmentId: string): boolean {
    return (this.#fragments.get(fragmentId)?.retries.size ?? 0) > 0;
  }

  /** How many fragments have a call in flight, per source (a source with none is absent). */
  runningPerSource(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const f of this.#fragments.values()) if (f.calls.size > 0) counts.set(f.source, (counts.get(f.source) ?? 0) + 1);
    return counts;
  }

  #of(e: { fragmentId: string; source: string }): FragmentCalls {
    let f = this.#fragments.get(e.fragmentId);
    if (!f) this.#fragments.set(e.fragmentId, (f = { source: e.source, calls: new Map(), retries: new Set() }));
    return f;
  }

  /** A call ended (`all`: every call of that batch's attempt); a call never started (refused by an open circuit) changes nothing. */
  #ended(e: { fragmentId: string; attempt: number; batch: { index: number } }, all: boolean): void {
    const calls = this.#fragments.get(e.fragmentId)?.calls;
    const n = calls?.get(key(e));
    if (calls === undefined || n === undefined) return;
    if (!all && n > 1) calls.set(key(e), n - 1);
    else calls.delete(key(e));
  }
}

const key = (e: { attempt: number; batch: { index: number } }): string => `${e.batch.index}@${e.attempt}`;
