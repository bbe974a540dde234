import cliProgress from 'cli-progress';
import type { Subscription } from 'rxjs';
import type { ExecutionEvent } from '../progress/events.js';
import type { Progress } from '../progress/progress.js';
import type { QueryRun } from '../run/index.js';
import type { CliIo } from './io.js';
import { printable } from './printable.js';
import type { Redactor } from './redact.js';
import { count } from '../explain/index.js';
import { RunningCalls } from './running-calls.js';

/** `bar`: a live cli-progress bar (a TTY); `lines`: one line per event; `off`: nothing. */
export type ProgressMode = 'bar' | 'lines' | 'off';

export function progressMode(io: CliIo, quiet: boolean | undefined): ProgressMode {
  if (quiet) return 'off';
  return io.stderr.isTTY ? 'bar' : 'lines';
}

/**
 * The bar's line: settled fragments (succeeded, failed or skipped) out of all, how they
 * settled, the level running, the sources with calls running, retries, each source's
 * concurrency limit once an adaptive one has moved (`| limit: crm 6, shop 12`), and the time
 * so far (`duration_formatted` is cli-progress's own, redrawn on its timer).
 */
export const BAR_FORMAT =
  '{bar} {percentage}% | {value}/{total} fragments: {succeeded} ok ({cached} cached), {failed} failed, {skipped} skipped | level {level} | running: {running} | retries: {retries}{limits} | {duration_formatted}';

/** What the bar shows besides its value. */
interface Payload {
  succeeded: number;
  cached: number;
  failed: number;
  skipped: number;
  level: string;
  running: string;
  retries: number;
  /** `` or ` | limit: crm 6, shop 12`. */
  limits: string;
}

/**
 * Shows a run's progress on stderr, so stdout keeps only the rows: on a TTY a live bar
 * (see `BAR_FORMAT`); elsewhere (a pipe, a CI log) one plain line per step. Returns a
 * handle whose `stop()` ends the display (idempotent; the bar is left on screen as it
 * ended: at 100% after a run where every fragment settled).
 */
export function showProgress(run: QueryRun, shape: { fragments: number; levels: number }, io: CliIo, mode: ProgressMode, redact: Redactor): { stop(): void } {
  if (mode === 'off') return { stop: () => undefined };
  const view = mode === 'bar' ? barView(shape, io) : linesView(io, redact);
  let subscriptions: Subscription[] | undefined = [
    run.progress$.subscribe((p) => view.progress(p)),
    run.events$.subscribe({ next: (event) => view.event(event), complete: () => stop() }),
  ];
  const stop = (): void => {
    for (const s of subscriptions ?? []) s.unsubscribe();
    subscriptions = undefined;
    view.stop();
  };
  return { stop };
}

interface View {
  event(e: ExecutionEvent): void;
  progress(p: Progress): void;
  stop(): void;
}

function barView(shape: { fragments: number; levels: number }, io: CliIo): View {
  const bar = new cliProgress.SingleBar(
    { stream: io.stderr, format: BAR_FORMAT, hideCursor: true, clearOnComplete: false, etaBuffer: 20, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  const running = new RunningCalls();
  const limits = new Map<string, number>();
  let latest: Progress | undefined;
  let stopped = false;
  const payload = (): Payload => ({
    succeeded: latest?.succeeded ?? 0,
    cached: latest?.cached ?? 0,
    failed: latest?.failed ?? 0,
    skipped: latest?.skipped ?? 0,
    level: `${Math.min((latest?.level ?? 0) + 1, shape.levels)}/${shape.levels}`,
    running: running.sources(),
    retries: latest?.retries ?? 0,
    limits: limits.size === 0 ? '' : ` | limit: ${[...limits].map(([s, n]) => `${printable(s)} ${n}`).join(', ')}`,
  });
  const settled = (): number => (latest === undefined ? 0 : latest.succeeded + latest.failed + latest.skipped);
  bar.start(shape.fragments, 0, payload());
  return {
    event(e) {
      running.note(e);
      if (e.type === 'source.limit.changed') limits.set(e.source, e.limit);
      bar.update(Math.min(settled(), shape.fragments), payload());
    },
    progress(p) {
      latest = p;
      bar.update(Math.min(settled(), shape.fragments), payload());
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

function linesView(io: CliIo, redact: Redactor): View {
  const say = (at: number, text: string): void => {
    io.stderr.write(`[${at.toFixed(1).padStart(8)} ms] ${printable(redact(text))}\n`);
  };
  let latest: Progress | undefined;
  return {
    event(e) {
      const line = describeEvent(e);
      if (line === undefined) return;
      // The last line says how every fragment settled, as the bar does.
      const done = e.type === 'query.done' || e.type === 'query.failed';
      say(e.at, done && latest !== undefined ? `${line} (fragments: ${settledCounts(latest)})` : line);
    },
    progress(p) {
      latest = p;
    },
    stop: () => undefined,
  };
}

/** `2 ok (1 cached), 1 failed, 1 skipped`. */
function settledCounts(p: Progress): string {
  return `${p.succeeded} ok (${p.cached} cached), ${p.failed} failed, ${p.skipped} skipped`;
}

/** `, batch 2/3` for a call of a batched bind join; nothing for a fragment's only call. */
const batchOf = (b: { index: number; count: number }): string => (b.count > 1 ? `, batch ${b.index + 1}/${b.count}` : '');

/** One line for the events worth a line; undefined for the rest. */
export function describeEvent(e: ExecutionEvent): string | undefined {
  switch (e.type) {
    case 'query.started':
      return `query ${e.queryId} started: ${count(e.fragments, 'fragment')} in ${count(e.levels, 'level')}`;
    case 'fragment.started':
      return `${e.fragmentId} (${e.source}) started${e.attempt > 1 ? `, attempt ${e.attempt}` : ''}${batchOf(e.batch)}`;
    case 'fragment.attempt.failed':
      return `${e.fragmentId} (${e.source}) attempt ${e.attempt} failed${e.retryable ? ' (retryable)' : ''}: ${e.error.message}`;
    case 'fragment.retrying':
      return `${e.fragmentId} (${e.source}) retrying in ${Math.round(e.delayMs)} ms (attempt ${e.attempt})`;
    case 'fragment.cached':
      return `${e.fragmentId} (${e.source}) served from the cache: ${count(e.rowCount, 'row')}`;
    case 'fragment.succeeded':
      return `${e.fragmentId} (${e.source}) succeeded: ${count(e.rowCount, 'row')} in ${e.durationMs.toFixed(1)} ms`;
    case 'fragment.failed':
      return `${e.fragmentId} (${e.source}) failed after ${count(e.attempts, 'attempt')}: ${e.error.code}: ${e.error.message}`;
    case 'fragment.skipped':
      return `${e.fragmentId} (${e.source}) skipped: upstream ${e.because} failed`;
    case 'fragment.dropped':
      return `${e.fragmentId} (${e.source}) dropped: optional, out of time at the deadline`;
    case 'fragment.cancelled':
      return `${e.fragmentId} (${e.source}) cancelled: the query ended before it finished`;
    case 'source.limit.changed':
      return `source ${e.source}: concurrency limit ${e.previous} → ${e.limit}`;
    case 'fragment.remote':
      return `${e.fragmentId} (${e.source}) attempt ${e.attempt}${batchOf(e.batch)} runs on worker ${e.worker} (job ${e.jobId})`;
    case 'fragment.batch.succeeded':
      return `${e.fragmentId} (${e.source})${batchOf(e.batch)} answered: ${count(e.rowCount, 'row')}`;
    case 'fragment.hedge.ended':
      return e.outcome === 'lost'
        ? `${e.fragmentId} (${e.source}) the ${e.call} call of attempt ${e.attempt}${batchOf(e.batch)} lost the race and was stopped`
        : `${e.fragmentId} (${e.source}) the ${e.call} call of attempt ${e.attempt}${batchOf(e.batch)} failed${e.error ? `: ${e.error.code}: ${e.error.message}` : ''}`;
    case 'fragment.hedged':
      return `${e.fragmentId} (${e.source}) hedged: a second call after ${e.afterMs} ms without an answer`;
    case 'merge.started':
      return 'merging';
    case 'query.done':
      return `query ${e.status}: ${count(e.rowCount, 'row')} in ${e.durationMs.toFixed(1)} ms`;
    case 'query.failed':
      return `query failed: ${e.error.code}: ${e.error.message}`;
    default:
      // level.started and events added later (circuit breaker, …) get no line of their own.
      return undefined;
  }
}
