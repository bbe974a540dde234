import type { ResolvedExecutorOptions } from '../config.js';
import { columnsOf } from '../data/columns.js';
import type { Row } from '../data/row.js';
import { classifyError } from '../execution/classify.js';
import { createRedactor, type Redactor } from '../redact.js';
import { callMask } from '../value-mask.js';
import type { PreparedPlan, RunOptions } from '../run/index.js';
import type { ExecuteContext, SourceExecutor } from '../sources/source.js';
import { callKey, encodeRecordedRows, encodeRecordedRun, type RecordedCall, type RecordedOutcome, type RecordedRun, type RecordedSettings, type RecordedSource, type Recording } from './recording.js';

/** The redactor of `record: { redact: false }`: texts are kept as they were. */
const KEEP: Redactor = (text) => text;

type Pending = Omit<RecordedCall, 'outcome'> & { outcome?: RecordedCall['outcome'] };

/**
 * Records one run (`record: true`): wraps each of its sources so every call's response or
 * error, and when it started and ended on the run's clock, is kept; and hands the run a
 * random source that remembers its draws (retry jitter), so a replay draws the same. @internal
 */
export class Recorder {
  readonly #calls: Pending[] = [];
  readonly #random: number[] = [];
  readonly #sources: Recording['sources'] = {};
  #cancelled: Recording['cancelled'];
  at: () => number = () => 0;

  constructor(
    readonly queryId: string,
    readonly plan: unknown,
    readonly run: RecordedRun,
    readonly settings: RecordedSettings,
    /** Applied to each recorded error's text (identity: kept as it was). */
    readonly redact: Redactor = KEEP,
  ) {}

  readonly random = (): number => {
    const value = Math.random();
    this.#random.push(value);
    return value;
  };

  /** The source, with every call recorded (the original is called as before). */
  wrap(name: string, source: SourceExecutor): SourceExecutor {
    const info: RecordedSource = { kind: source.kind, ...(source.maxConcurrency === undefined ? {} : { maxConcurrency: source.maxConcurrency }), ...(source.limits === undefined ? {} : { limits: source.limits }) };
    this.#sources[name] = info;
    const wrapped = Object.create(source) as SourceExecutor;
    wrapped.execute = (query: unknown, ctx: ExecuteContext) => this.#call(name, source, query, ctx);
    const isReadOnly = source.isReadOnly;
    if (isReadOnly) {
      // Which queries were reads (hedgeable): the replay hedges the same ones. The list exists
      // even when no call was a read, so the replay's source tells too (and hedges none).
      info.readOnly = [];
      wrapped.isReadOnly = (query: unknown) => {
        const read = isReadOnly.call(source, query);
        if (read) {
          const key = callKey(query, []);
          const reads = info.readOnly!;
          if (!reads.includes(key)) reads.push(key);
        }
        return read;
      };
    }
    return wrapped;
  }

  #call(name: string, source: SourceExecutor, query: unknown, ctx: ExecuteContext): Promise<Row[]> | AsyncIterable<Row[]> {
    const startedAt = this.at();
    const entry: Pending = { source: name, fragmentId: ctx.fragmentId ?? '', key: callKey(query, ctx.params), startedAt, endedAt: startedAt };
    this.#calls.push(entry);
    const end = (outcome: RecordedOutcome): void => {
      if (entry.outcome !== undefined) return;
      Object.assign(entry, outcome, { endedAt: this.at() });
    };
    ctx.signal.addEventListener('abort', () => end({ outcome: 'aborted' }), { once: true });
    const fail = (error: unknown): void => {
      const classified = classifyError(error, source);
      // The call's bound values and the run's params are masked as in events$ (unless `redact: false`).
      const mask = this.redact === KEEP ? KEEP : callMask(ctx, this.run.params, query);
      end({ outcome: 'error', error: { ...classified, message: this.redact(mask(classified.message)) } });
    };
    const done = (rows: Row[], columns: string[] | undefined): void =>
      end({ outcome: 'rows', rowCount: rows.length, rows: encodeRecordedRows(rows), ...(columns ? { columns } : {}) });
    let out: Promise<Row[]> | AsyncIterable<Row[]>;
    try {
      out = source.execute(query, ctx);
    } catch (error) {
      fail(error);
      throw error;
    }
    if (typeof (out as Promise<Row[]>).then === 'function') {
      return (out as Promise<Row[]>).then(
        (rows) => {
          if (Array.isArray(rows)) done(rows, columnsOf(rows));
          return rows;
        },
        (error: unknown) => {
          fail(error);
          throw error;
        },
      );
    }
    if (Array.isArray(out)) {
      done(out, columnsOf(out));
      return out;
    }
    return recordBatches(out as AsyncIterable<Row[]>, done, fail);
  }

  /** The run was cancelled from outside (run.cancel, its signal, executor.close), `at` ms after it started. */
  cancelled(at: number, reason: string | undefined): void {
    this.#cancelled ??= { at, ...(reason === undefined ? {} : { reason: this.redact(reason) }) };
  }

  /** The recording so far (complete once the run has finished). */
  recording(): Recording {
    return {
      format: 'tributary-recording',
      version: 1,
      queryId: this.queryId,
      plan: this.plan,
      run: encodeRecordedRun(this.run),
      settings: this.settings,
      sources: Object.fromEntries(Object.entries(this.#sources).map(([n, s]) => [n, s.readOnly ? { ...s, readOnly: [...s.readOnly] } : { ...s }])),
      random: [...this.#random],
      // A call still running when the recording is taken is left out.
      calls: this.#calls.filter((c): c is RecordedCall => c.outcome !== undefined).map((c) => ({ ...c })),
      ...(this.#cancelled ? { cancelled: { ...this.#cancelled } } : {}),
    };
  }
}

async function* recordBatches(source: AsyncIterable<Row[]>, done: (rows: Row[], columns: string[] | undefined) => void, fail: (error: unknown) => void): AsyncIterable<Row[]> {
  const rows: Row[] = [];
  let columns: string[] | undefined;
  try {
    for await (const batch of source) {
      columns ??= Array.isArray(batch) ? columnsOf(batch) : undefined;
      if (Array.isArray(batch)) for (const row of batch) rows.push(row);
      yield batch;
    }
  } catch (error) {
    fail(error);
    throw error;
  }
  done(rows, columns);
}

/** A recorder for a run with `record: true`: the plan, the run's options and the settings that shape its timeline. */
export function recorderFor(p: PreparedPlan, runOptions: RunOptions, opts: ResolvedExecutorOptions): Recorder {
  const deadlineMs = (runOptions as { deadlineMs?: unknown }).deadlineMs;
  return new Recorder(
    p.id,
    p.input,
    {
      ...(runOptions.principal ? { principal: runOptions.principal } : {}),
      ...(runOptions.params ? { params: runOptions.params } : {}),
      ...(typeof deadlineMs === 'number' ? { deadlineMs } : {}),
    },
    {
      concurrency: opts.concurrency,
      retry: opts.retry,
      timeoutMs: opts.timeoutMs,
      ...(opts.deadlineMs === undefined ? {} : { deadlineMs: opts.deadlineMs }),
      ...(opts.fragmentDeadlineMs === undefined ? {} : { fragmentDeadlineMs: opts.fragmentDeadlineMs }),
      retryBudget: opts.retryBudget,
      circuitBreaker: opts.circuitBreaker,
      rowLimits: opts.rowLimits,
      ...(opts.hedge === false ? {} : { hedge: opts.hedge }),
      ...(opts.adaptiveConcurrency === false ? {} : { adaptiveConcurrency: opts.adaptiveConcurrency }),
      ...(opts.maxQueued === undefined ? {} : { maxQueued: opts.maxQueued }),
      ...(opts.maxQueueMs === undefined ? {} : { maxQueueMs: opts.maxQueueMs }),
    },
    recordRedactor(runOptions.record),
  );
}

/** What masks a recording's error texts: the default patterns, then the run's own redactor; none with `redact: false`. */
function recordRedactor(record: RunOptions['record']): Redactor {
  const own = typeof record === 'object' ? record.redact : undefined;
  if (own === false) return KEEP;
  const patterns = createRedactor();
  if (!own) return patterns;
  // A redactor that throws (or returns no text) must not leak the text, nor end the run.
  return (text) => {
    try {
      const out: unknown = own(patterns(text));
      return typeof out === 'string' ? out : '(redacted)';
    } catch {
      return '(redacted)';
    }
  };
}
