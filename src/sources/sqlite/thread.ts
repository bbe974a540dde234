import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TributaryError } from '../../errors.js';
import type { Row } from '../../data/row.js';
import { withColumns } from '../../data/columns.js';
import { cannotOpen } from './errors.js';

/**
 * The code each SQLite thread runs: open the database, answer `{ id, sql, params }` with the
 * rows (bigints kept: structured clone carries them) or the error. Plain CommonJS passed with
 * `eval`, so it runs the same under tsx, vitest and the compiled build.
 */
const THREAD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// Opened at the first statement, so that a file that cannot be opened answers that
// statement with its reason (an error thrown here, at load, would reach the main thread
// only as a worker error, its message lost in the clone).
let db;
parentPort.on('message', ({ id, sql, params, maxRows, maxBytes, deadline }) => {
  if (!db) {
    try {
      db = new Database(workerData.file, { readonly: workerData.readonly, fileMustExist: workerData.readonly });
    } catch (error) {
      parentPort.postMessage({ id, error: { message: String(error && error.message), code: 'TRIBUTARY_OPEN', driverCode: error && error.code } });
      return;
    }
  }
  try {
    const stmt = db.prepare(sql);
    if (!stmt.reader) {
      stmt.run(...params);
      parentPort.postMessage({ id, rows: [] });
      return;
    }
    const rows = [];
    let bytes = 0;
    // A column named __proto__ would set each row's prototype (rows are built with
    // row[name] = value): such a statement is read raw and its rows built with own properties.
    const names = stmt.columns().map((c) => c.name);
    const raw = names.includes('__proto__');
    for (const values of stmt.safeIntegers(true).raw(raw).iterate(...params)) {
      let row = values;
      if (raw) {
        row = {};
        names.forEach((name, i) => Object.defineProperty(row, name, { value: values[i], enumerable: true, writable: true, configurable: true }));
      }
      rows.push(row);
      // A lower bound of the rows' estimate (estimateRowBytes: 64 a row, 16 plus the name a
      // column, 2 a string unit, a buffer's length, 8 a number): past maxBytes the thread
      // stops here, rather than build and send the whole result for the main thread to refuse.
      if (maxBytes !== undefined) {
        bytes += 64;
        // The row's own columns, as estimateRowBytes reads them: a name the statement gives twice is one column.
        for (const name in row) {
          const v = row[name];
          bytes += 16 + name.length + (typeof v === 'string' ? 2 * v.length : v === null || v === undefined ? 0 : typeof v === 'object' ? v.length : 8);
        }
        if (bytes > maxBytes) throw Object.assign(new Error('more than maxBytes=' + maxBytes + ' bytes (estimated)'), { code: 'TRIBUTARY_MAX_ROWS' });
      }
      // The thread stops itself between rows once its budget is spent (Date.now: the epoch
      // both threads share), even if the main thread is too busy to terminate it.
      if (deadline !== undefined && (rows.length & 255) === 0 && Date.now() > deadline) throw Object.assign(new Error('budget spent'), { code: 'TRIBUTARY_BUDGET' });
      if (rows.length > maxRows) throw Object.assign(new Error('more than maxRows=' + maxRows + ' rows'), { code: 'TRIBUTARY_MAX_ROWS' });
    }
    parentPort.postMessage({ id, rows, columns: names });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
`;

/**
 * Runs statements on one worker thread, one at a time; an abort terminates the thread, and so
 * does a call's budget (`budgetMs`, counted from `run`): a timer on the main thread
 * terminates it when the budget runs out, and the thread itself gives up between rows once
 * past it. Either way the call fails with TIMEOUT and the next call gets a fresh thread.
 * A terminated thread stops as soon as SQLite hands control back to JavaScript (the next
 * row); a statement inside one long step (an aggregate over a huge scan) runs that step to
 * its end first, since better-sqlite3 exposes no `sqlite3_interrupt`. Such a thread is not
 * waited for: `close()` gives the threads it ends (and those an abort ended) at most
 * `THREAD_CLOSE_GRACE_MS`, then resolves and leaves them, unref'd, to finish their step or
 * die with the process (whose exit still waits for a native step to end: Node joins its
 * threads).
 */
export class SqliteThread {
  readonly #file: string;
  readonly #readonly: boolean;
  #worker: Worker | undefined;
  #next = 0;
  #queue: Promise<unknown> = Promise.resolve();
  /** Stops the call in flight (terminating its thread), if one is. */
  #inFlight: ((reason: unknown) => void) | undefined;
  /** Threads being terminated: `close()` waits for them, within the grace. */
  readonly #ending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(file: string, readonly: boolean) {
    this.#file = file;
    this.#readonly = readonly;
  }

  /** The rows of one statement (raw: bigints not yet normalized; `withColumns` names attached), or its error. */
  run(sql: string, params: unknown[], signal: AbortSignal, bounds: { maxRows: number; maxBytes?: number | undefined }, budgetMs?: number): Promise<Row[]> {
    const deadline = budgetMs === undefined || !Number.isFinite(budgetMs) ? undefined : { at: performance.now() + budgetMs, epoch: Date.now() + budgetMs, budgetMs };
    const turn = this.#queue.then(() => this.#call(sql, params, signal, bounds, deadline));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  #call(sql: string, params: unknown[], signal: AbortSignal, { maxRows, maxBytes }: { maxRows: number; maxBytes?: number | undefined }, deadline: Deadline | undefined): Promise<Row[]> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (this.#closed) return Promise.reject(closedError());
    const left = deadline === undefined ? Infinity : deadline.at - performance.now();
    if (left <= 0) return Promise.reject(budgetSpent(deadline!.budgetMs, false));
    const worker = (this.#worker ??= this.#spawn());
    const id = ++this.#next;
    return new Promise<Row[]>((resolve, reject) => {
      const timer = Number.isFinite(left) ? setTimeout(() => onBudget(), left) : undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.#inFlight = undefined;
        worker.unref();
        worker.off('message', onMessage);
        worker.off('error', onError);
        signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (message: { id: number; rows?: Row[]; columns?: string[]; error?: { message: string; code?: string; driverCode?: string } }): void => {
        if (message.id !== id) return;
        done();
        if (message.error) {
          const { code } = message.error;
          if (code === 'TRIBUTARY_OPEN') {
            // As the in-process source says it; the next call tries a fresh thread.
            if (this.#worker === worker) this.#worker = undefined;
            this.#end(worker);
            reject(cannotOpen(this.#file, message.error.message, message.error.driverCode));
            return;
          }
          reject(
            code === 'TRIBUTARY_MAX_ROWS'
              ? new TributaryError('LIMIT_EXCEEDED', message.error.message, { retryable: false })
              : code === 'TRIBUTARY_BUDGET'
                ? budgetSpent(deadline?.budgetMs ?? 0, false)
                : Object.assign(new Error(message.error.message), { code }),
          );
        } else resolve(message.columns === undefined ? (message.rows ?? []) : withColumns(message.rows ?? [], message.columns));
      };
      const onError = (error: Error): void => {
        done();
        this.#worker = undefined;
        reject(error);
      };
      // The statement cannot be interrupted from outside, but its thread can: terminating it
      // stops the work at its next row (see the class note), and the next call opens a fresh thread.
      const stop = (reason: unknown): void => {
        done();
        if (this.#worker === worker) this.#worker = undefined;
        this.#end(worker);
        reject(reason as Error);
      };
      this.#inFlight = stop;
      const onAbort = (): void => stop(signal.reason);
      const onBudget = (): void => stop(budgetSpent(deadline?.budgetMs ?? 0, true));
      worker.on('message', onMessage);
      worker.on('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
      worker.ref(); // a call in flight keeps the process alive; an idle thread does not
      worker.postMessage({ id, sql, params, maxRows: Number.isFinite(maxRows) ? maxRows : Number.MAX_SAFE_INTEGER, maxBytes, deadline: deadline?.epoch });
    });
  }

  #spawn(): Worker {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(THREAD_CODE, { eval: true, workerData: { driver, file: this.#file, readonly: this.#readonly } });
    // An idle thread must not keep the process alive.
    worker.unref();
    return worker;
  }

  /** Terminates a thread, unref'd (never keeping the process alive), and tracks its end. */
  #end(worker: Worker): void {
    const ended = worker.terminate().catch(() => undefined);
    // After terminate(), which holds the process open until the thread has gone.
    worker.unref();
    this.#ending.add(ended);
    void ended.then(() => this.#ending.delete(ended));
  }

  /**
   * Ends the thread, failing a call still in flight (SOURCE_UNAVAILABLE), and waits for the
   * threads being ended at most `THREAD_CLOSE_GRACE_MS` (see the class note); idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#inFlight?.(closedError());
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) this.#end(worker);
    if (this.#ending.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      // Ref'd: it holds the process for the grace at most, so an awaited close() resolves.
      timer = setTimeout(resolve, THREAD_CLOSE_GRACE_MS);
    });
    await Promise.race([Promise.all(this.#ending), grace]);
    clearTimeout(timer);
  }
}

/**
 * The longest `close()` waits for a thread stuck in one long native step (which terminating
 * it cannot stop) before leaving it behind.
 */
export const THREAD_CLOSE_GRACE_MS = 1000;

function closedError(): TributaryError {
  return new TributaryError('SOURCE_UNAVAILABLE', 'the SQLite source was closed while its statement ran', { retryable: false });
}

/** When a call's budget runs out: on the main thread's clock, and as epoch ms for the thread. */
interface Deadline {
  at: number;
  epoch: number;
  budgetMs: number;
}

function budgetSpent(budgetMs: number, terminated: boolean): TributaryError {
  const what = terminated ? '; its thread was terminated' : '';
  return new TributaryError('TIMEOUT', `SQLite statement passed its ${budgetMs} ms budget${what}`);
}
