import type { Attributes, Span } from '@opentelemetry/api';
import type { FragmentBatchSucceededEvent, FragmentHedgeEndedEvent, FragmentHedgedEvent } from './events.js';
import { fail } from './span-failure.js';

/* The spans of source calls that end before their fragment does: a hedged pair's loser, a batch that answered. */

/** One source call in flight: an attempt of one batch of one fragment (`role`: which call of a hedged pair). */
export interface OpenCall {
  span: Span;
  attempt: number;
  batch: number;
  batches: number;
  role?: 'primary' | 'hedge';
}

const ROLE = 'tributary.hedge.role';
const OUTCOME = 'tributary.hedge.outcome';

/**
 * `fragment.hedged`: the call still waiting for its answer becomes the pair's `primary`, and the
 * extra call gets a span of its own (`tributary.hedge.role = 'hedge'`), opened through `start`.
 */
export function hedgeStarted(open: OpenCall[], event: FragmentHedgedEvent, start: (attributes: Attributes) => Span): void {
  const primary = open.find((a) => a.attempt === event.attempt && a.batch === event.batch.index && a.role === undefined);
  if (primary) {
    primary.role = 'primary';
    primary.span.setAttribute(ROLE, 'primary');
  }
  const span = start({ 'tributary.attempt': event.attempt, 'tributary.cached': false, [ROLE]: 'hedge', 'tributary.hedge.after_ms': event.afterMs });
  open.push({ span, attempt: event.attempt, batch: event.batch.index, batches: event.batch.count, role: 'hedge' });
}

/**
 * `fragment.hedge.ended`: one call of the pair ended while its try went on. A loser (the other
 * call answered first) is no error: its span keeps status UNSET, says `tributary.hedge.outcome =
 * 'lost'` and has a `tributary.hedge.cancelled` event (OpenTelemetry keeps a status message only
 * on ERROR). A call that failed while the other still ran ends as a failure.
 */
export function hedgeCallEnded(open: OpenCall[], event: FragmentHedgeEndedEvent): void {
  const i = open.findIndex((a) => a.attempt === event.attempt && a.batch === event.batch.index && a.role === event.call);
  if (i < 0) return;
  const { span } = open.splice(i, 1)[0]!;
  span.setAttribute(OUTCOME, event.outcome);
  if (event.outcome === 'lost') span.addEvent('tributary.hedge.cancelled', { 'tributary.cancel.reason': 'the other call of the hedged pair answered first' });
  else if (event.error) {
    span.setAttribute('tributary.retryable', event.error.retryable);
    fail(span, event.error);
  }
  span.end();
}

/** A call of a hedged pair still open when its fragment succeeded answered first: it won. */
export function markWinner(call: OpenCall): void {
  if (call.role !== undefined) call.span.setAttribute(OUTCOME, 'won');
}

/** `fragment.batch.succeeded`: the open calls of that batch end as successes, with the batch's rows. */
export function endBatch(open: OpenCall[], event: FragmentBatchSucceededEvent): void {
  for (let i = open.length - 1; i >= 0; i--) {
    const call = open[i]!;
    if (call.batch !== event.batch.index) continue;
    open.splice(i, 1);
    call.span.setAttribute('tributary.rows', event.rowCount);
    markWinner(call);
    call.span.end();
  }
}
