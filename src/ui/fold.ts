import { count } from '../explain/index.js';
import type { RemoteRule } from '../explain/index.js';
import type { CallsInFlight } from '../progress/calls-in-flight.js';
import type { ExecutionEvent, FragmentState, LogLine, QueryView } from './types.js';

const FINAL: ReadonlySet<FragmentState> = new Set(['succeeded', 'cached', 'failed', 'skipped', 'stopped']);

/** True once a fragment will not change again. */
export function isFinal(state: FragmentState): boolean {
  return FINAL.has(state);
}

/**
 * Folds one event into a query's view: the fragment's new state (a fragment seen for the
 * first time is added with its source and level), the query's end. `calls` is the query's own
 * count of calls in flight, fed here: a fragment runs while any of its calls runs (a batched bind
 * join runs several) and is `retrying` only when none does and a batch waits to retry. A fragment
 * is marked `remote` when `remote` says its source's calls go to BullMQ workers, or once a
 * `fragment.remote` event says a worker ran one. Returns the fragment ids whose state (or
 * mark) changed. Mutates `view`: it belongs to the live view's store alone.
 */
export function foldEvent(view: QueryView, event: ExecutionEvent, calls: CallsInFlight, remote: RemoteRule = () => false): string[] {
  calls.note(event);
  if (!('fragmentId' in event)) {
    if (event.type === 'query.done' || event.type === 'query.failed') return endQuery(view, event);
    if (event.type === 'query.started') view.total = event.fragments;
    return [];
  }
  const known = view.fragments[event.fragmentId];
  const fragment: QueryView['fragments'][string] = known ?? { source: event.source, level: event.level, state: 'pending', ...(remote(event.source, undefined) ? { remote: true } : {}) };
  if (!known) view.fragments[event.fragmentId] = fragment;
  const marked = event.type === 'fragment.remote' && fragment.remote !== true;
  if (marked) fragment.remote = true;
  const next = nextState(fragment.state, event, calls);
  if (next === fragment.state && known && !marked) return [];
  fragment.state = next;
  return [event.fragmentId];
}

function nextState(current: FragmentState, event: Extract<ExecutionEvent, { fragmentId: string }>, calls: CallsInFlight): FragmentState {
  if (isFinal(current)) return current;
  switch (event.type) {
    case 'fragment.queued':
      return current === 'pending' ? 'queued' : current;
    case 'fragment.started':
    case 'fragment.joined':
    case 'fragment.remote':
      return 'running';
    case 'fragment.attempt.failed':
    case 'fragment.retrying':
    case 'fragment.batch.succeeded':
    case 'fragment.hedge.ended':
      // A call ended or a batch awaits its retry: running while another call runs, else waiting to retry.
      if (calls.running(event.fragmentId)) return 'running';
      return calls.waitingToRetry(event.fragmentId) ? 'retrying' : current;
    case 'fragment.cached':
      return 'cached';
    case 'fragment.succeeded':
      return event.cached ? 'cached' : 'succeeded';
    case 'fragment.failed':
      return 'failed';
    case 'fragment.skipped':
      return 'skipped';
    case 'fragment.dropped':
    case 'fragment.cancelled':
      return 'stopped';
    default:
      return current;
  }
}

function endQuery(view: QueryView, event: Extract<ExecutionEvent, { type: 'query.done' | 'query.failed' }>): string[] {
  view.state = event.type === 'query.done' ? event.status : 'failed';
  view.durationMs = event.durationMs;
  if (event.type === 'query.failed') view.error = `${event.error.code}: ${event.error.message}`;
  // Whatever had not finished was stopped with the query (fail-fast, cancellation).
  const changed: string[] = [];
  for (const [id, f] of Object.entries(view.fragments)) {
    if (!isFinal(f.state)) {
      f.state = 'stopped';
      changed.push(id);
    }
  }
  return changed;
}

/** `, batch 2/3` for a call of a batched bind join; nothing for a fragment's only call. */
const batchOf = (b: { index: number; count: number }): string => (b.count > 1 ? `, batch ${b.index + 1}/${b.count}` : '');

/** One line of the event log: what happened, to what, with the figures that matter. */
export function logLine(key: string, e: ExecutionEvent): LogLine {
  const parts: string[] = [];
  if ('fragmentId' in e) parts.push(`${e.fragmentId} (${e.source})`);
  switch (e.type) {
    case 'query.started':
      parts.push(`${e.fragments} fragments, ${e.levels} levels`);
      break;
    case 'level.started':
      parts.push(`level ${e.level}: ${count(e.fragments, 'fragment')}`);
      break;
    case 'fragment.started':
      parts.push(`attempt ${e.attempt}${batchOf(e.batch)}`);
      break;
    case 'fragment.attempt.failed':
      parts.push(`attempt ${e.attempt}: ${e.error.code} ${e.error.message}${e.retryable ? ' (retryable)' : ''}`);
      break;
    case 'fragment.retrying':
      parts.push(`attempt ${e.attempt} in ${Math.round(e.delayMs)} ms`);
      break;
    case 'fragment.cached':
      parts.push(`${e.rowCount} rows`);
      break;
    case 'fragment.succeeded':
      parts.push(`${e.rowCount} rows in ${e.durationMs.toFixed(1)} ms${e.cached ? ', cached' : ''}${e.attempts > 1 ? `, ${e.attempts} attempts` : ''}`);
      break;
    case 'fragment.failed':
      parts.push(`${e.error.code}: ${e.error.message}`);
      break;
    case 'fragment.skipped':
      parts.push(`because ${e.because} failed`);
      break;
    case 'query.done':
      parts.push(`${e.status}, ${e.rowCount} rows in ${e.durationMs.toFixed(1)} ms`);
      break;
    case 'query.failed':
      parts.push(`${e.error.code}: ${e.error.message}`);
      break;
    case 'cache.unavailable':
      parts.push(e.reason);
      break;
    case 'fragment.remote':
      parts.push(`attempt ${e.attempt}${batchOf(e.batch)} on worker ${e.worker} (job ${e.jobId})`);
      break;
    case 'fragment.batch.succeeded':
      parts.push(`attempt ${e.attempt}${batchOf(e.batch)} answered: ${e.rowCount} rows`);
      break;
    case 'fragment.hedge.ended':
      parts.push(`the ${e.call} call of attempt ${e.attempt}${batchOf(e.batch)} ${e.outcome === 'lost' ? 'lost the race and was stopped' : `failed: ${e.error ? `${e.error.code} ${e.error.message}` : 'unknown error'}`}`);
      break;
    case 'source.limit.changed':
      parts.push(`limit ${e.previous} → ${e.limit}`);
      break;
    case 'fragment.hedged':
      parts.push(`hedged after ${e.afterMs} ms`);
      break;
    default:
      break;
  }
  const line: LogLine = { key, at: e.at, type: e.type, text: parts.join(' ') };
  if (isFailure(e)) line.failure = true;
  return line;
}

/** The events that tell of a failure; a hedged call that lost its race was stopped, not failed. */
function isFailure(e: ExecutionEvent): boolean {
  return e.type === 'fragment.failed' || e.type === 'query.failed' || e.type === 'fragment.attempt.failed' || (e.type === 'fragment.hedge.ended' && e.outcome === 'failed');
}
