import { limitExceeded, type LimitSubject } from '../../data/limits.js';
import type { RequestTally } from '../request-tally.js';

/**
 * `maxRequests` over one fragment: every request its calls send in one run — list values
 * (`list: 'each'`) and pages, over its batches, retries and hedged calls — counted on the
 * fragment's tally. A call counts its list's requests when it starts: a list that does not fit
 * beside what the fragment's other calls sent (or are sending) fails LIMIT_EXCEEDED before
 * anything of it is sent. A page past the first counts as it goes, and the one past the cap is
 * never sent. What a call counted and never sent (it failed, or was aborted) is given back.
 */
export class RequestCap {
  readonly #max: number;
  readonly #tally: RequestTally;
  readonly #subject: LimitSubject;
  /** Requests of its list counted up front and not sent yet. */
  #unsent: number;

  constructor(max: number, listed: number, tally: RequestTally, subject: LimitSubject) {
    const before = tally.requests;
    if (before + listed > max) {
      const others = before === 0 ? '' : ` besides the ${before} its other calls (batches, tries) sent or are sending`;
      throw limitExceeded(subject, `its bound list needs ${listed} requests (list: 'each')${others}, more than maxRequests=${max} for the fragment; nothing of it was sent (use list: 'comma', larger batches, or raise maxRequests)`);
    }
    this.#max = max;
    this.#tally = tally;
    this.#subject = subject;
    this.#unsent = listed;
    tally.requests = before + listed;
  }

  /** One request about to go: a list value's first (counted already), or another page, counted now. */
  send(listed: boolean): void {
    if (listed && this.#unsent > 0) {
      this.#unsent--;
      return;
    }
    if (this.#tally.requests + 1 > this.#max) throw limitExceeded(this.#subject, `more than maxRequests=${this.#max} requests for the fragment (list values and pages, over its calls)`);
    this.#tally.requests++;
  }

  /** The call is over: its list's requests it never sent are given back. */
  end(): void {
    this.#tally.requests -= this.#unsent;
    this.#unsent = 0;
  }
}
