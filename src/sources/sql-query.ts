import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { fromRefSchema, paramRefSchema } from '../plan/schema.js';
import type { ExecuteContext, Row } from './source.js';
import { estimateRowBytes } from './values.js';

/**
 * What the SQL connectors share: the native query shape, the options every SQL source
 * accepts besides its driver's, the per-call row/byte bounds, abort-aware connection
 * acquisition, background cancel tracking, and MySQL's bound-list placeholder expansion.
 */

const referenceSchema = z.union([fromRefSchema, paramRefSchema]);

/**
 * One entry of `params`: any value, but an object that looks like a reference (`$from` or
 * `$param` key) must be a well-formed one, so a typo fails validation instead of being sent.
 */
export const sqlParamSchema = z.unknown().superRefine((value, ctx) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  if (!('$from' in value) && !('$param' in value)) return;
  if (referenceSchema.safeParse(value).success) return;
  ctx.addIssue({
    code: 'custom',
    message: 'a reference is { "$from": fragmentId, "column": name } or { "$param": name }',
  });
});

/**
 * `{ sql, params? }`: the native query of a SQL source, with the driver's own placeholders
 * (`$1` for PostgreSQL, `?` for MySQL). At execute time the connector sends `ctx.params`
 * (the same list with references resolved), never `query.params`.
 */
export const sqlQuerySchema = z.strictObject({
  sql: z.string().min(1).refine((s) => /\S/.test(s), 'sql must not be blank'),
  params: z.array(sqlParamSchema).optional(),
});
export type SqlQuery = z.infer<typeof sqlQuerySchema>;

/** Options every SQL source takes besides its driver's pool options. */
export const sqlSourceOptionsShape = {
  /** A connection URL; the alternative to host/port/user/... fields. */
  url: z.string().min(1).optional(),
  /** Most calls this source runs at once (its lane size); default: the pool's size. */
  maxConcurrency: z.number().int().positive().optional(),
  /** Rows one call may return; the smaller of this and the plan's limit wins. */
  maxRows: z.number().int().positive().optional(),
  /** Estimated bytes one call may return (see `estimateValueBytes`). */
  maxBytes: z.number().int().positive().optional(),
  cacheScope: z.enum(['principal', 'shared']).optional(),
  /** The name in error messages; default: the kind. */
  name: z.string().min(1).optional(),
};

/** Validates connector options, throwing CONFIG_INVALID with one issue per problem. */
export function parseSourceOptions<S extends z.ZodType>(kind: string, schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: ['options', ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const detail = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new TributaryError('CONFIG_INVALID', `invalid ${kind}Source options: ${detail}`, { issues });
}

/** Counts the rows and estimated bytes of one call; throws LIMIT_EXCEEDED past a bound. */
export interface RowBounds {
  /** Accounts for one more row; throws LIMIT_EXCEEDED when it does not fit. */
  add(row: Row): void;
}

const smaller = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/** The bounds of one call: the smaller of the context's and the source's own limits. */
export function createRowBounds(
  ctx: Pick<ExecuteContext, 'limits' | 'fragmentId'>,
  own: { maxRows?: number | undefined; maxBytes?: number | undefined },
  sourceName: string,
): RowBounds {
  const maxRows = smaller(ctx.limits?.maxRows, own.maxRows);
  const maxBytes = smaller(ctx.limits?.maxBytes, own.maxBytes);
  let rows = 0;
  let bytes = 0;
  const exceeded = (what: string) => {
    const fragment = ctx.fragmentId === undefined ? 'a fragment' : `fragment ${ctx.fragmentId}`;
    const message = `${fragment} on source ${sourceName}: ${what}`;
    const path = ctx.fragmentId === undefined ? 'fragments' : `fragments.${ctx.fragmentId}`;
    return new TributaryError('LIMIT_EXCEEDED', message, { retryable: false, issues: [{ path, message }] });
  };
  return {
    add(row) {
      rows += 1;
      if (maxRows !== undefined && rows > maxRows) throw exceeded(`more than maxRows=${maxRows} rows`);
      if (maxBytes === undefined) return;
      bytes += estimateRowBytes(row);
      if (bytes > maxBytes) throw exceeded(`more than maxBytes=${maxBytes} bytes (estimated)`);
    },
  };
}

/**
 * Waits for `acquire` (e.g. a pooled connection) unless `signal` aborts first, in which case
 * it rejects with `signal.reason` at once and hands a connection that arrives later to
 * `late` (to release it). The abort listener is removed either way.
 */
export function acquireOrAbort<T>(acquire: Promise<T>, signal: AbortSignal, late: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    acquire.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) late(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/**
 * Background work (server-side cancels) a source must finish before its pool ends, so
 * `close()` neither leaks a side connection nor ends the pool under a running cancel.
 */
export class PendingWork {
  readonly #pending = new Set<Promise<void>>();

  /** Runs `work` in the background; its failure is ignored (a cancel is best effort). */
  track(work: () => Promise<void>): void {
    const p = work().catch(() => undefined);
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Resolves once all tracked work has settled. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}

/** Resolves after `ms` or once `promise` settles, whichever is first; true if it settled. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(done, done);
  });
}

/**
 * The offsets of the `?` placeholders in MySQL text, skipping '…', "…" and `…` quotes and
 * comments (`-- `, `#`, `/* … *\/`). Executable comments (`/*! … *\/`, `/*M! … *\/`) are
 * scanned, as the server runs them. Backslash escapes are honoured inside quotes (the
 * default sql_mode).
 */
export function mysqlPlaceholders(sql: string): number[] {
  const found: number[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i, c);
    } else if (c === '#' || isDashComment(sql, i)) {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      if (sql[i + 2] === '!') i += 3;
      else if (sql[i + 2] === 'M' && sql[i + 3] === '!') i += 4;
      else {
        const end = sql.indexOf('*/', i + 2);
        i = end === -1 ? n : end + 2;
      }
    } else {
      if (c === '?') found.push(i);
      i += 1;
    }
  }
  return found;
}

/** MySQL's `--` starts a comment only before a space, a control character or the end. */
function isDashComment(sql: string, i: number): boolean {
  return sql[i] === '-' && sql[i + 1] === '-' && (i + 2 >= sql.length || sql.charCodeAt(i + 2) <= 32);
}

/** The index just past the quoted run that starts at `start`. */
function skipQuoted(sql: string, start: number, quote: string): number {
  let j = start + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (c === '\\' && quote !== '`') j += 2;
    else if (c === quote && sql[j + 1] === quote) j += 2; // a doubled quote is one literal quote
    else if (c === quote) return j + 1;
    else j += 1;
  }
  return sql.length;
}

/**
 * MySQL's bound lists: the Nth `?` whose param is a JS array becomes `?, ?, …` with the
 * array's values bound in its place; an empty array becomes `NULL` (`IN (NULL)` matches
 * nothing). Without array params the text is untouched. `undefined` is sent as NULL.
 */
export function expandListParams(
  sql: string,
  params: readonly unknown[],
  fragmentId?: string,
): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  if (!params.some(Array.isArray)) {
    for (const p of params) values.push(p === undefined ? null : p);
    return { sql, values };
  }
  const marks = mysqlPlaceholders(sql);
  if (marks.length !== params.length) {
    const message = `the SQL has ${marks.length} ? placeholders but ${params.length} params were given`;
    const path = fragmentId === undefined ? 'query.params' : `fragments.${fragmentId}.query.params`;
    throw new TributaryError('FRAGMENT_FAILED', message, { retryable: false, issues: [{ path, message }] });
  }
  let text = '';
  let last = 0;
  marks.forEach((at, k) => {
    const param = params[k];
    text += sql.slice(last, at);
    last = at + 1;
    if (!Array.isArray(param)) {
      text += '?';
      values.push(param === undefined ? null : param);
    } else if (param.length === 0) {
      text += 'NULL';
    } else {
      text += '?, '.repeat(param.length - 1) + '?';
      for (const v of param as unknown[]) values.push(v === undefined ? null : v);
    }
  });
  return { sql: text + sql.slice(last), values };
}
