import { z } from 'zod';
import type { ExecutorOptions } from '../config.js';
import { TributaryError } from '../errors.js';
import { createVirtualClock, type VirtualClock } from '../execution/clock.js';
import type { Row } from '../data/row.js';
import type { QueryRun, RunOptions } from '../run/index.js';
import type { ExecuteContext, SourceExecutor } from '../sources/source.js';
import { callKey, decodeRecordedRows, decodeRecordedRun, parseRecording, type RecordedCall, type RecordedSource, type Recording } from './recording.js';

/** What a replay needs from the executor module (which owns `createExecutor`). @internal */
export interface ReplayHost {
  /** Runs a plan on a fresh executor with these options; `random` replaces Math.random for retry jitter. */
  start(options: ExecutorOptions, plan: unknown, runOptions: RunOptions, random: () => number): { run: QueryRun; close(): Promise<void> };
}

export interface ReplayOptions {
  /** Passed to the replay's query actor (as `createExecutor({ inspect })`). */
  inspect?: ExecutorOptions['inspect'];
}

/**
 * Runs a recording's plan again against its recorded responses, on a virtual clock that
 * jumps from one recorded moment to the next: no source is called, no real time passes, and
 * the events, progress and result are the recorded run's. A call the recording does not
 * hold fails with a non-retryable `SOURCE_UNAVAILABLE`. @internal — use `executor.replay()`.
 */
export function replayRecording(input: unknown, host: ReplayHost, options: ReplayOptions = {}): QueryRun {
  const recording = parseRecording(input);
  const recorded = decodeRecordedRun(recording.run);
  const clock = createVirtualClock();
  const queues = new Map<string, RecordedCall[]>();
  for (const call of recording.calls) {
    const k = `${call.source}\u0000${call.fragmentId}\u0000${call.key}`;
    let queue = queues.get(k);
    if (!queue) queues.set(k, (queue = []));
    queue.push(call);
  }
  const sources: Record<string, SourceExecutor> = {};
  for (const [name, info] of Object.entries(recording.sources)) {
    sources[name] = replaySource(name, info, queues, clock, liftedAsInfinity(recording.settings.rowLimits));
  }
  let draws = 0;
  const random = (): number => recording.random[draws++] ?? 0.5;
  const { settings } = recording;
  const { run, close } = host.start(
    {
      sources,
      clock,
      cache: false,
      telemetry: false,
      concurrency: settings.concurrency,
      retry: settings.retry,
      timeoutMs: settings.timeoutMs,
      ...(settings.deadlineMs === undefined ? {} : { deadlineMs: settings.deadlineMs }),
      ...(settings.fragmentDeadlineMs === undefined ? {} : { fragmentDeadlineMs: settings.fragmentDeadlineMs }),
      retryBudget: settings.retryBudget,
      circuitBreaker: settings.circuitBreaker,
      rowLimits: settings.rowLimits,
      ...(settings.hedge === undefined ? {} : { hedge: settings.hedge }),
      ...(settings.adaptiveConcurrency === undefined ? {} : { adaptiveConcurrency: settings.adaptiveConcurrency }),
      ...(settings.maxQueued === undefined ? {} : { maxQueued: settings.maxQueued }),
      ...(settings.maxQueueMs === undefined ? {} : { maxQueueMs: settings.maxQueueMs }),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    },
    recording.plan,
    runOptionsOf(recorded),
    random,
  );
  // Cancelled from outside when recorded: at the same moment of the run's clock, for the same reason.
  const cancel = recording.cancelled;
  if (cancel) clock.setTimeout(() => run.cancel(cancel.reason), cancel.at);
  void drive(clock, run).finally(() => close());
  return run;
}

function runOptionsOf(recorded: ReturnType<typeof decodeRecordedRun>): RunOptions {
  const options: RunOptions & { deadlineMs?: number } = {
    ...(recorded.principal ? { principal: recorded.principal } : {}),
    ...(recorded.params ? { params: recorded.params } : {}),
    ...(recorded.deadlineMs === undefined ? {} : { deadlineMs: recorded.deadlineMs }),
  };
  return options;
}

/** Moves virtual time from timer to timer until the run has finished. */
async function drive(clock: VirtualClock, run: QueryRun): Promise<void> {
  let finished = false;
  run.result.then(
    () => (finished = true),
    () => (finished = true),
  );
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  while (!finished) {
    await turn();
    if (finished) break;
    // Nothing due: the run waits on in-process work (a promise chain), not on time.
    if (!clock.next()) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Recorded bounds (null: lifted) → `Limits` (`Infinity`: lifted). */
function liftedAsInfinity(limits: { maxRows?: number | null | undefined; maxBytes?: number | null | undefined }): { maxRows?: number; maxBytes?: number } {
  const bound = (v: number | null | undefined) => (v === null ? Infinity : v);
  const maxRows = bound(limits.maxRows);
  const maxBytes = bound(limits.maxBytes);
  return { ...(maxRows === undefined ? {} : { maxRows }), ...(maxBytes === undefined ? {} : { maxBytes }) };
}

function replaySource(name: string, info: RecordedSource, queues: Map<string, RecordedCall[]>, clock: VirtualClock, limits: { maxRows?: number; maxBytes?: number }): SourceExecutor {
  return {
    kind: info.kind,
    querySchema: z.unknown(),
    // The recorded source's own bounds: its fragments are held to what they were held to.
    ...(info.limits === undefined ? {} : { limits: liftedAsInfinity(info.limits) }),
    ...(info.maxConcurrency === undefined ? {} : { maxConcurrency: info.maxConcurrency }),
    isRetryable: (error) => error instanceof TributaryError && error.retryable === true,
    // The run's reads, so a hedged run replays its hedges (the loser's call was recorded as aborted).
    ...(info.readOnly ? { isReadOnly: readsOf(info.readOnly) } : {}),
    execute: (query: unknown, ctx: ExecuteContext): Promise<Row[]> => {
      const queue = queues.get(`${name}\u0000${ctx.fragmentId ?? ''}\u0000${callKey(query, ctx.params)}`);
      const call = queue?.shift();
      if (!call) {
        return Promise.reject(
          new TributaryError('SOURCE_UNAVAILABLE', `replay: the recording holds no (further) response for this call of fragment "${ctx.fragmentId ?? '?'}" on source "${name}"`, { retryable: false }),
        );
      }
      return new Promise<Row[]>((resolve, reject) => {
        const signal = ctx.signal;
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        if (call.outcome === 'aborted') {
          // It ended when its signal fired: the same timeout or stop fires it again.
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          return;
        }
        const timer = clock.setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          if (call.outcome === 'rows') {
            try {
              resolve(decodeRecordedRows(call, limits));
            } catch (error) {
              reject(error);
            }
          } else {
            const e = call.error;
            // The recorded run called it again: the replay retries it too, whatever the retry
            // rule for writes says of it (a recording from before that rule has reads it never
            // listed in readOnly, and writes it retried after a reset or a 502).
            const ranAgain = queue !== undefined && queue.length > 0;
            reject(new TributaryError(e.code, e.message, { retryable: e.retryable, ...(e.driverCode === undefined ? {} : { driverCode: e.driverCode }), ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }), ...(e.noEffect === true || ranAgain ? { noEffect: true } : {}) }));
          }
        }, Math.max(0, call.endedAt - call.startedAt));
        const onAbort = (): void => {
          clock.clearTimeout(timer);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

export type { Recording };

function readsOf(keys: readonly string[]): (query: unknown) => boolean {
  const reads = new Set(keys);
  return (query) => reads.has(callKey(query, []));
}
