import { rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createExecutor } from '../executor.js';
import { isTributaryError, type TributaryError } from '../errors.js';
import type { ValidatedPlan } from '../plan/index.js';
import type { ExecutionEvent } from '../progress/events.js';
import { runOptionsSchema, type QueryResult, type QueryRun } from '../run/index.js';
import { loadAuthorize } from './authorize-option.js';
import type { Principal } from '../sources/source.js';
import { readPlanFile, withRunFlags } from './inputs.js';
import { checkParams, parseParams } from './params.js';
import { EXIT, InputError, type CliIo } from './io.js';
import { measureBytes } from './measure.js';
import { printable } from './printable.js';
import { progressMode, showProgress } from './progress-bar.js';
import { loadSourcesFile } from './sources-file.js';
import { redactRecording, type Redactor } from './redact.js';
import type { LiveOption } from './live-option.js';
import { onStopSignal, STOP_SIGNALS, type StopSignal } from './stop-signals.js';

/** The options `run` and `explain --analyze` share. */
export interface ExecuteOptions {
  sources: string;
  param?: string[];
  partial?: boolean;
  principal?: string;
  /** `--deadline <ms>`: the query's deadline (see `run(plan, { deadlineMs })`). */
  deadline?: string;
  /** `--authorize <module>`: the access rule, default-exported by a JS module. */
  authorize?: string;
  quiet?: boolean;
  /** `--adaptive`: `adaptiveConcurrency: true`. */
  adaptive?: boolean;
  /** `run --ui`: the live page, started with the executor and following the run. */
  live?: LiveOption;
  /** `run --record <file>`: every source response and timing, written there as JSON (for `tributary replay`). */
  record?: string;
}

export interface Execution {
  plan: ValidatedPlan;
  /** Undefined when the run was interrupted. */
  result: QueryResult | undefined;
  events: ExecutionEvent[];
  bytes: ReadonlyMap<string, number>;
  redact: Redactor;
  exitCode: number;
}

/**
 * Loads the plan and sources, runs the plan with progress on stderr, and closes every
 * source. Invalid input throws `InputError` before anything runs; a failed query is a
 * result (exit code 1, or 3 when partial), not a throw. Ctrl-C cancels the run (130), and so does SIGTERM (143).
 */
export async function executePlanFile(planFile: string, opts: ExecuteOptions, io: CliIo): Promise<Execution> {
  const params = parseParams(opts.param);
  const deadlineMs = parseDeadline(opts.deadline);
  const authorize = opts.authorize === undefined ? undefined : await loadAuthorize(opts.authorize, io);
  const raw = withRunFlags(await readPlanFile(planFile, io), { partial: opts.partial });
  const loaded = await loadSourcesFile(resolve(io.cwd, opts.sources), io.env);
  const measured = measureBytes(loaded.sources);
  const redact = loaded.redact;
  const stopSignal = new AbortController();
  let stoppedBy: StopSignal = 'SIGINT';
  let stopListening: (() => void) | undefined;
  let executor: ReturnType<typeof createExecutor> | undefined;
  try {
    executor = createExecutor({ sources: measured.sources, ...(authorize ? { authorize } : {}), ...(opts.adaptive ? { adaptiveConcurrency: true } : {}) });
    await opts.live?.attach(executor, redact);
    let plan: ValidatedPlan;
    try {
      plan = executor.validate(raw);
    } catch (error) {
      if (isTributaryError(error)) throw new InputError(`invalid plan ${planFile}`, error.issues);
      throw error;
    }
    checkParams(plan, params);
    const principal: Principal | undefined = opts.principal === undefined ? undefined : { id: opts.principal };
    stopListening = onStopSignal((signal) => {
      stoppedBy = signal;
      stopSignal.abort(new Error(STOP_SIGNALS[signal].said));
    });
    const refused = (error: TributaryError): Execution => {
      printForbidden(io, error, redact);
      return { plan, result: undefined, events: [], bytes: measured.bytes, redact, exitCode: EXIT.forbidden };
    };
    // run() validates again: it takes the plan as written, not the validated object.
    let run: QueryRun;
    try {
      run = executor.run(raw, {
        params,
        signal: stopSignal.signal,
        ...(principal ? { principal } : {}),
        // The file is masked by the sources file's secrets and the patterns (redactRecording), at once.
        ...(opts.record === undefined ? {} : { record: { redact: false } }),
        ...(deadlineMs === undefined ? {} : { deadlineMs }),
      });
    } catch (error) {
      if (isTributaryError(error, 'FORBIDDEN')) return refused(error);
      throw error;
    }
    opts.live?.watch(run, raw);
    const events: ExecutionEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const progress = showProgress(run, { fragments: plan.fragments.length, levels: plan.levels.length }, io, progressMode(io, opts.quiet), redact);
    let result: QueryResult | undefined;
    try {
      result = await run.result;
    } catch (error) {
      if (isTributaryError(error, 'FORBIDDEN')) return refused(error);
      if (!isTributaryError(error, 'CANCELLED')) throw error;
    } finally {
      progress.stop();
      // Written whatever the outcome: a failed run's recording is the one worth replaying.
      if (opts.record !== undefined) await writeRecording(resolve(io.cwd, opts.record), run, io, redact);
    }
    const exitCode = result === undefined ? STOP_SIGNALS[stoppedBy].exit : exitCodeOf(result);
    if (result === undefined) io.stderr.write(`tributary: ${STOP_SIGNALS[stoppedBy].said}; the query was cancelled\n`);
    else if (result.errors.length > 0) printErrors(io, result, redact);
    if (result?.status === 'partial') printCompleteness(io, result);
    return { plan, result, events, bytes: measured.bytes, redact, exitCode };
  } finally {
    stopListening?.();
    await executor?.close();
    await loaded.close();
  }
}

/** 0 ok, 1 failed, 3 partial. */
export function exitCodeOf(result: QueryResult): number {
  return result.status === 'ok' ? EXIT.ok : result.status === 'partial' ? EXIT.partial : EXIT.failed;
}

/** The run's recording, the sources file's secrets masked in its error messages (as in everything printed). */
async function writeRecording(file: string, run: QueryRun, io: CliIo, redact: Redactor): Promise<void> {
  try {
    const recording = run.recording();
    // Rows inside: readable by you only, an existing file too. A new file of mode 0600 renamed
    // over it (writing into the old one would keep its mode, and chmod after it would leave a window).
    const fresh = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(fresh, `${JSON.stringify(recording && redactRecording(recording, redact))}\n`, { mode: 0o600, flag: 'wx' });
    await rename(fresh, file).catch(async (error: unknown) => {
      await rm(fresh, { force: true });
      throw error;
    });
  } catch (error) {
    io.stderr.write(`tributary: cannot write the recording ${file}: ${(error as Error).message}\n`);
  }
}

export function printErrors(io: CliIo, result: QueryResult, redact: Redactor): void {
  const head = result.status === 'failed' ? 'the query failed' : result.status === 'partial' ? 'partial result: some fragments failed' : 'errors';
  // A source's error text (an HTTP body, a driver message) is shown escaped: it cannot drive the terminal.
  const lines = [`tributary: ${head}`, ...result.errors.map((e) => `  ${printable(redact(errorLine(e)))}`)];
  io.stderr.write(`${lines.join('\n')}\n`);
}

/** `--deadline <ms>`: a positive whole number of milliseconds, checked as `run()` checks it. */
export function parseDeadline(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  const parsed = runOptionsSchema.safeParse({ deadlineMs: ms });
  if (!parsed.success) throw new InputError(`invalid --deadline ${JSON.stringify(value)}`, [{ path: '--deadline', message: 'expected a positive whole number of milliseconds (at most 2147483647)' }]);
  return ms;
}

/** For a partial result: each fragment that did not contribute all its rows, and why. */
export function printCompleteness(io: CliIo, result: QueryResult): void {
  const entries = Object.entries(result.completeness.fragments);
  if (entries.length === 0) return;
  const lines = [`tributary: incomplete: ${entries.length} fragment${entries.length === 1 ? '' : 's'} did not contribute all ${entries.length === 1 ? 'its' : 'their'} rows`];
  for (const [id, f] of entries) {
    // Time only against a budget: without a deadline the report stays the same from run to run.
    const budget = f.budgetMs === undefined ? '' : `, ${Math.round(f.usedMs)} ms used of a ${f.budgetMs} ms budget`;
    const missing = f.rowsMayBeMissing ? 'rows may be missing' : 'no rows missing';
    lines.push(`  ${id}: ${f.status} (${f.reason}), ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}${budget}${f.cached ? ', cached' : ''}; ${missing}`);
  }
  io.stderr.write(`${lines.join('\n')}\n`);
}

/** `tributary: forbidden: …` and one line per refused fragment. */
function printForbidden(io: CliIo, error: TributaryError, redact: Redactor): void {
  const lines = [`tributary: forbidden: ${printable(redact(error.message))}`, ...error.issues.map((i) => `  ${printable(i.path)}: ${printable(redact(i.message))}`)];
  io.stderr.write(`${lines.join('\n')}\n`);
}

/** `CODE: message`; a fragment's error message already says which fragment, source and attempt. */
function errorLine(e: TributaryError): string {
  return `${e.code}: ${e.message}`;
}
