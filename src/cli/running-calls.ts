import { CallsInFlight } from '../progress/calls-in-flight.js';
import { printable } from './printable.js';

/**
 * The fragments with a source call in flight, for the progress bar's `running:` field, counted
 * per batch and attempt (see `CallsInFlight`): a batched bind join stays listed while any of its
 * calls runs, even when another batch failed and waits to retry.
 */
export class RunningCalls extends CallsInFlight {
  /** `crm(2), shop` (fragments running per source) or `-`; names shown escaped, as the plain lines show them. */
  sources(): string {
    const counts = this.runningPerSource();
    if (counts.size === 0) return '-';
    return [...counts].map(([s, n]) => (n > 1 ? `${printable(s)}(${n})` : printable(s))).join(', ');
  }
}
