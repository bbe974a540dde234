import type { ExecutionEvent } from '../progress/events.js';
import { printable } from './printable.js';

/**
 * The fragments with a source call in flight, for the progress bar's `running:` field. Calls are
 * counted per batch and attempt (`1@2`): a batched bind join runs several at once (a hedged call
 * two), so one that fails — its try retried after a backoff — leaves the fragment running while
 * another of its calls still runs. A fragment sharing another run's load (`fragment.joined`) runs
 * until it settles.
 */
export class RunningCalls {
  readonly #fragments = new Map<string, { source: string; calls: Map<string, number> }>();

  note(e: ExecutionEvent): void {
    switch (e.type) {
      case 'fragment.started':
      case 'fragment.hedged': {
        const calls = this.#callsOf(e);
        calls.set(key(e), (calls.get(key(e)) ?? 0) + 1);
        return;
      }
      case 'fragment.joined':
        this.#callsOf(e).set('joined', 1);
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

  /** `crm(2), shop` (fragments running per source) or `-`; names shown escaped, as the plain lines show them. */
  sources(): string {
    const counts = new Map<string, number>();
    for (const { source } of this.#fragments.values()) counts.set(source, (counts.get(source) ?? 0) + 1);
    if (counts.size === 0) return '-';
    return [...counts].map(([s, n]) => (n > 1 ? `${printable(s)}(${n})` : printable(s))).join(', ');
  }

  #callsOf(e: { fragmentId: string; source: string }): Map<string, number> {
    let f = this.#fragments.get(e.fragmentId);
    if (!f) this.#fragments.set(e.fragmentId, (f = { source: e.source, calls: new Map() }));
    return f.calls;
  }

  /** A call ended (`all`: every call of that batch's attempt); a call never started (refused by an open circuit) changes nothing. */
  #ended(e: { fragmentId: string; attempt: number; batch: { index: number } }, all: boolean): void {
    const calls = this.#fragments.get(e.fragmentId)?.calls;
    const n = calls?.get(key(e));
    if (calls === undefined || n === undefined) return;
    if (!all && n > 1) calls.set(key(e), n - 1);
    else calls.delete(key(e));
    if (calls.size === 0) this.#fragments.delete(e.fragmentId);
  }
}

const key = (e: { attempt: number; batch: { index: number } }): string => `${e.batch.index}@${e.attempt}`;
