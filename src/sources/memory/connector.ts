import { z } from 'zod';
import { TributaryError } from '../../errors.js';
import { compilePredicate } from '../../data/predicate.js';
import { predicateSchema } from '../../plan/schema.js';
import { callLimits } from '../call-limits.js';
import { declaredLimits, parseSourceOptions, sourceBoundSchema } from '../options.js';
import type { ExecuteContext, SourceExecutor } from '../source.js';
import type { Row } from '../../data/row.js';
import { withColumns } from '../../data/columns.js';
import { tableColumns } from './check.js';
import { predicateColumns } from '../../data/predicate-columns.js';

/** `{ table, columns?, where? }`: a scan of one in-memory table, filtered and projected. */
export const memoryQuerySchema = z.strictObject({
  table: z.string().min(1),
  columns: z.array(z.string().min(1)).min(1).optional(),
  where: predicateSchema.optional(),
});
export type MemoryQuery = z.infer<typeof memoryQuerySchema>;

export interface MemorySourceOptions {
  /** Table name → rows. The rows are read, never changed. */
  tables: Record<string, readonly Row[]>;
  maxConcurrency?: number;
  /** Rows one fragment may return; the smaller of this and the run's limit wins. `Infinity`/`null`: none. */
  maxRows?: number | null;
  /** Estimated bytes (`estimateRowBytes`) one fragment may return: default the executor's `rowLimits.maxBytes`, else 64 MiB; `Infinity`/`null` lifts it. */
  maxBytes?: number | null;
  cacheScope?: 'principal' | 'shared';
  /** Reported by `version()`, fixed for the source: register a new one with another version when the tables change. */
  version?: string;
}

const optionsSchema = z.strictObject({
  tables: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))),
  maxConcurrency: z.number().int().positive().optional(),
  maxRows: sourceBoundSchema,
  maxBytes: sourceBoundSchema,
  cacheScope: z.enum(['principal', 'shared']).optional(),
  version: z.string().optional(),
});

/**
 * A source over in-memory rows: reference data, test fixtures, or results of another
 * system. A `where` value may be a bound `{ $from }` list (for `in`) or a `{ $param }`.
 *
 * @example
 * memorySource({ tables: { regions: [{ code: 'EU', name: 'Europe' }] } })
 */
export function memorySource(options: MemorySourceOptions): SourceExecutor<MemoryQuery> {
  const { maxRows, maxBytes } = parseSourceOptions('memory', optionsSchema, options);
  const tables = new Map(Object.entries(options.tables));
  let closed = false;
  const columnsOf = tableColumns();
  return {
    kind: 'memory',
    querySchema: memoryQuerySchema,
    limits: declaredLimits({ maxRows, maxBytes }),
    ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    ...(options.cacheScope === undefined ? {} : { cacheScope: options.cacheScope }),
    version: () => `memory:${options.version ?? '1'}`,
    isReadOnly: () => true,
    namesColumnsFirst: true, // its rows come at once
    execute(query: MemoryQuery, ctx: ExecuteContext): Promise<Row[]> {
      if (closed) return Promise.reject(new TributaryError('CLOSED', 'memory source is closed'));
      // `ctx.aborted` first: it knows without making the signal (see ExecuteContext).
      if (ctx.aborted ?? ctx.signal.aborted) return Promise.reject(ctx.signal.reason as Error);
      const table = tables.get(query.table);
      if (!table) {
        return Promise.reject(
          new TributaryError('FRAGMENT_FAILED', `memory source has no table "${query.table}" (tables: ${[...tables.keys()].join(', ')})`, {
            retryable: false,
            issues: [{ path: 'query.table', message: `unknown table "${query.table}"` }],
          }),
        );
      }
      try {
        const named = columnsOf(table);
        if (query.where && table.length > 0) unknownColumn(query.where, named);
        const matches = query.where ? compilePredicate(query.where) : undefined;
        const bounds = callLimits(ctx, { maxRows, maxBytes }, 'memory');
        const out: Row[] = [];
        for (const row of table) {
          if (matches && !matches(row)) continue;
          const picked = query.columns ? project(row, query.columns) : row;
          bounds.add(picked);
          out.push(picked);
        }
        // Named columns: the projected ones, else the table's (every column any of its rows
        // has, in order of first appearance), so a merge step that reads a column the table
        // does not have fails rather than reading null. An empty table's columns are unknown,
        // not none: naming [] would fail every step over it (a left join to a table the app
        // has not filled yet), so its result names nothing, as an empty JSON API's does.
        if (query.columns !== undefined || table.length > 0) withColumns(out, query.columns ?? named);
        return Promise.resolve(out);
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

/**
 * A `where` that reads a column no row of the table has is a mistake (SQL refuses such a
 * WHERE): it would compare null and keep nothing. An empty table names no columns, and a
 * projected column the rows lack stays `null`, as documented.
 */
function unknownColumn(where: MemoryQuery['where'] & object, columns: readonly string[]): void {
  for (const [column, path] of predicateColumns(where, 'query.where')) {
    if (columns.includes(column)) continue;
    const message = `column "${column}" is not in the table (its columns: ${columns.map((c) => JSON.stringify(c)).join(', ')})`;
    throw new TributaryError('FRAGMENT_FAILED', `memory source: ${message}`, { retryable: false, issues: [{ path, message }] });
  }
}

function project(row: Row, columns: readonly string[]): Row {
  // Own properties only: a column named like an Object.prototype member is just missing.
  return Object.fromEntries(columns.map((c) => [c, Object.hasOwn(row, c) ? (row[c] ?? null) : null]));
}
