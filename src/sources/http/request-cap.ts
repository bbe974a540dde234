import { limitExceeded, type LimitSubject } from '../../data/limits.js';
import type { RequestTally, SharedRequestCount } from '../request-tally.js';

/**
 * `maxRequests` over one fragment: every request its calls send in one run — list values
 * (`list: 'each'`) and pages, over its batches, retries and hedged calls — counted on the
 * fragment's tally. A call counts its list's requests when it starts: a list that does not fit
 * beside what the fragment's other calls sent (or are sending) fails LIMIT_EXCEEDED before
 * anything of it is sent. A page past the first counts as it goes, and the one past the cap is
 * never sent. What a call counted and never sent (it failed, or was aborted) is given back.
 *
 * The cap is the tally's `max` when it carries one (a remote job: the coordinator's), else the
 * source's own. A tally with a `shared` count (a remote job) reserves there, asynchronously,
 * and keeps `requests` as this call's own count; the worker gives back what was reserved and
 * not sent when the job ends. Without one (in-process) everything is synchronous.
 */
export class RequestCap {
  readonly #max: number;
  readonly #tally: RequestTally;
  readonly #shared: SharedRequestCount | undefined;
  readonly #subject: LimitSubject;
  /** Requests of its list counted up front and not sent yet. */
  #unsent: number;
  #ended = false;

  /** Counts the call's list of `listed` requests: a cap, or a promise of one for a shared count. */
  static open(own: number, listed: number, tally: RequestTally, subject: LimitSubject): RequestCap | Promise<RequestCap> {
    // A job carries its coordinator's cap; its worker's own, if smaller, still holds.
    const max = tally.max === undefined ? own : Math.min(tally.max, own);
    const shared = Number.isFinite(max) ? tally.shared : undefined;
    if (shared === undefined) {
      if (tally.requests + listed > max) throw listPastCap(tally.requests, listed, max, subject);
      return new RequestCap(max, listed, tally, undefined, subject);
    }
    if (listed === 0) return new RequestCap(max, 0, tally, shared, subject);
    return shared.reserve(listed, max, false).then(({ fits, before }) => {
      if (!fits) throw listPastCap(before, listed, max, subject);
      return new RequestCap(max, listed, tally, shared, subject);
    });
  }

  private constructor(max: number, listed: number, tally: RequestTally, shared: SharedRequestCount | undefined, subject: LimitSubject) {
    this.#max = max;
    this.#tally = tally;
    this.#shared = shared;
    this.#subject = subject;
    this.#unsent = listed;
    tally.requests += listed;
  }

  /**
   * One request about to go: a list value's first (counted already; a shared count records it
   * as sent), or another page, counted now.
   */
  send(listed: boolean): void | Promise<void> {
    if (listed && this.#unsent > 0) {
      this.#unsent--;
      // Refused (the job has ended, Redis is gone): it is not sent, and not counted.
      return this.#shared?.send().catch((error: unknown) => {
        this.#tally.requests--;
        throw error;
      });
    }
    if (this.#shared === undefined) {
      if (this.#tally.requests + 1 > this.#max) throw this.#pastCap();
      this.#tally.requests++;
      return;
    }
    return this.#shared.reserve(1, this.#max, true).then(({ fits }) => {
      if (!fits) throw this.#pastCap();
      // A call that ended meanwhile sends no more: the worker gives the reservation back.
      if (!this.#ended) this.#tally.requests++;
    });
  }

  /** The call is over: its list's requests it never sent are given back. */
  end(): void {
    this.#ended = true;
    this.#tally.requests -= this.#unsent;
    this.#unsent = 0;
  }

  #pastCap(): Error {
    return limitExceeded(this.#subject, `more than maxRequests=${this.#max} requests for the fragment (list values and pages, over its calls)`);
  }
}

/** A list that does not fit beside the `before` requests of the fragment's other calls. */
function listPastCap(before: number, listed: number, max: number, subject: LimitSubject): Error {
  const others = before === 0 ? '' : ` besides the ${before} its other calls (batches, tries) sent or are sending`;
  return limitExceeded(subject, `its bound list needs ${listed} requests (list: 'each')${others}, more than maxRequests=${max} for the fragment; nothing of it was sent (use list: 'comma', larger batches, or raise maxRequests)`);
}
