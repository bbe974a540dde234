import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { withColumns } from '../data/columns.js';
import type { Row } from '../data/row.js';
import { errorCodes, TributaryError, type ErrorCode } from '../errors.js';
import type { Principal } from '../sources/source.js';
import { hedgeOptionsSchema } from '../plan/schema.js';

/** How one recorded source call ended. */
export type RecordedOutcome =
  | { outcome: 'rows'; rowCount: number; /** base64 of the gzipped, V8-serialized rows ('' for none). */ rows: string; columns?: string[] }
  | { outcome: 'error'; error: RecordedError }
  | /** Its signal fired first (a timeout, fail-fast, a cancel): replay waits for the same abort. */ { outcome: 'aborted' };

/** A source error as recorded: what the retry logic reads from it, exactly. */
export interface RecordedError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  driverCode?: string;
  retryAfterMs?: number;
  /** The call never reached its server (see execution/retry-safety.ts); absent in older recordings. */
  noEffect?: boolean;
}

/** One source call: which fragment, which query (a hash of query and params), when, and how it ended. */
export type RecordedCall = {
  source: string;
  fragmentId: string;
  key: string;
  /** On the run's clock: ms since the query started. */
  startedAt: number;
  endedAt: number;
} & RecordedOutcome;

/**
 * A recorded run (`run(plan, { record: true })`, then `run.recording()`): plain JSON. The
 * plan in clear; the run's options (principal, params) and each call's rows as base64 of the
 * structured-clone format, so bigint, Date, Buffer and decimal strings come back exactly.
 */
export interface Recording {
  format: 'tributary-recording';
  version: 1;
  queryId: string;
  plan: unknown;
  /** base64 of the V8-serialized `{ principal?, params?, deadlineMs? }`. */
  run: string;
  /** The executor settings that shape the timeline. */
  settings: RecordedSettings;
  /** Each source the plan used: its kind and its concurrency limit. */
  sources: Record<string, RecordedSource>;
  /** The random draws of the run (retry jitter), in order. */
  random: number[];
  calls: RecordedCall[];
  /** The run was cancelled from outside, this many ms after it started, saying this (masked like error texts). */
  cancelled?: { at: number; reason?: string };
}

const retrySchema = z.object({
  attempts: z.number().int().positive(),
  initialDelayMs: z.number().nonnegative(),
  maxDelayMs: z.number().nonnegative(),
  factor: z.number().positive(),
  jitter: z.enum(['full', 'equal', 'none']),
});

const recordedBound = z.number().int().positive().nullable().optional();
/** Row and byte bounds as recorded: null for a lifted one (`Infinity`, which JSON writes as null). */
const recordedLimits = z.object({ maxRows: recordedBound, maxBytes: recordedBound, maxResultRows: recordedBound, maxResultBytes: recordedBound });
const settingsSchema = z.object({
  concurrency: z.number().int().positive(),
  retry: retrySchema.partial(),
  timeoutMs: z.number().int().positive(),
  deadlineMs: z.number().int().positive().optional(),
  fragmentDeadlineMs: z.number().int().positive().optional(),
  retryBudget: z.union([z.literal(false), z.object({ capacity: z.number(), retryCost: z.number(), timeoutRetryCost: z.number(), successReward: z.number() })]),
  circuitBreaker: z.union([z.literal(false), z.object({ failureThreshold: z.number(), resetTimeoutMs: z.number() })]),
  // null: the bound was lifted (Infinity, which JSON writes as null).
  rowLimits: recordedLimits,
  // Load controls (issue 16): they shape the timeline as much as retries do.
  hedge: hedgeOptionsSchema.optional(),
  adaptiveConcurrency: z
    .union([z.boolean(), z.object({ min: z.number().int().positive(), max: z.number().int().positive().optional(), initial: z.number().int().positive(), backoffRatio: z.number(), probeMultiplier: z.number().int().positive() })])
    .optional(),
  maxQueued: z.number().int().nonnegative().optional(),
  maxQueueMs: z.number().int().positive().optional(),
});

export type RecordedSettings = z.infer<typeof settingsSchema>;

/**
 * What a replay needs of a source: its kind, its lane size and, for hedged requests, which
 * of its queries it called reads (`readOnly`: their `callKey(query, [])`), so the replay
 * hedges exactly the calls the run hedged.
 */
export interface RecordedSource {
  kind: string;
  maxConcurrency?: number;
  /** Its `SourceExecutor.limits` (null: Infinity), so the replay bounds its fragments the same. */
  limits?: { maxRows?: number | null | undefined; maxBytes?: number | null | undefined };
  readOnly?: string[];
}

const name = z.string().min(1).max(500);
const callBase = { source: name, fragmentId: name, key: z.string().max(200), startedAt: z.number().nonnegative(), endedAt: z.number().nonnegative() };
const errorSchema = z.object({
  code: z.enum(errorCodes as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  retryable: z.boolean(),
  driverCode: z.string().optional(),
  retryAfterMs: z.number().nonnegative().optional(),
  noEffect: z.boolean().optional(),
});
const callSchema = z.discriminatedUnion('outcome', [
  z.object({ ...callBase, outcome: z.literal('rows'), rowCount: z.number().int().nonnegative(), rows: z.string(), columns: z.array(z.string()).optional() }),
  z.object({ ...callBase, outcome: z.literal('error'), error: errorSchema }),
  z.object({ ...callBase, outcome: z.literal('aborted') }),
]);

const recordingSchema = z.object({
  format: z.literal('tributary-recording'),
  version: z.literal(1),
  queryId: z.string(),
  plan: z.unknown(),
  run: z.string(),
  settings: settingsSchema,
  sources: z.record(name, z.object({ kind: z.string(), maxConcurrency: z.number().int().positive().optional(), readOnly: z.array(z.string().max(200)).optional(), limits: recordedLimits.optional() })),
  random: z.array(z.number().min(0).max(1)),
  calls: z.array(callSchema),
  cancelled: z.object({ at: z.number().nonnegative(), reason: z.string().optional() }).optional(),
});

/**
 * Checks a recording (an object, or its JSON text) and returns it typed; anything else is
 * `CONFIG_INVALID` with the path of each problem. zod builds new objects with only the known
 * keys, so nothing in the input reaches a prototype.
 */
export function parseRecording(input: unknown): Recording {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new TributaryError('CONFIG_INVALID', `a recording is JSON: ${(error as Error).message}`, { issues: [{ path: '(root)', message: 'not JSON' }] });
    }
  }
  const parsed = recordingSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
    throw new TributaryError('CONFIG_INVALID', `not a tributary recording: ${issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  // The plan travels as JSON; it is validated like any plan when the replay prepares it.
  return parsed.data as Recording;
}

/** The key of one call: a hash of its query and bound params. */
export function callKey(query: unknown, params: readonly unknown[]): string {
  return createHash('sha256').update(serialize([query, params])).digest('base64url');
}

export function encodeRecordedRows(rows: readonly Row[]): string {
  return rows.length === 0 ? '' : gzipSync(serialize(rows), { level: 1 }).toString('base64');
}

export function decodeRecordedRows(call: { rows: string; rowCount: number; columns?: string[] | undefined }, limits: { maxRows?: number; maxBytes?: number }): Row[] {
  let rows: unknown = [];
  if (call.rows !== '') {
    const maxOutputLength = limits.maxBytes === undefined || limits.maxBytes === Infinity ? 1 << 30 : Math.max(1 << 20, limits.maxBytes * 4);
    try {
      rows = deserialize(gunzipSync(Buffer.from(call.rows, 'base64'), { maxOutputLength }));
    } catch (error) {
      throw new TributaryError('CONFIG_INVALID', 'a recorded call\'s rows cannot be decoded', { cause: error });
    }
  }
  if (!Array.isArray(rows) || rows.length !== call.rowCount) throw new TributaryError('CONFIG_INVALID', 'a recorded call\'s rows do not match its row count');
  return call.columns ? withColumns(rows as Row[], call.columns) : (rows as Row[]);
}

/** The run's options, as a recording keeps them. */
export interface RecordedRun {
  principal?: Principal;
  params?: Record<string, unknown>;
  deadlineMs?: number;
}

export function encodeRecordedRun(run: RecordedRun): string {
  return serialize(run).toString('base64');
}

export function decodeRecordedRun(text: string): RecordedRun {
  let value: unknown;
  try {
    value = deserialize(Buffer.from(text, 'base64'));
  } catch (error) {
    throw new TributaryError('CONFIG_INVALID', 'the recording\'s run options cannot be decoded', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) throw new TributaryError('CONFIG_INVALID', 'the recording\'s run options are not an object');
  const { principal, params, deadlineMs } = value as Record<string, unknown>;
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
  return {
    ...(plain(principal) && typeof principal.id === 'string' ? { principal: principal as Principal } : {}),
    ...(plain(params) ? { params } : {}),
    ...(typeof deadlineMs === 'number' ? { deadlineMs } : {}),
  };
}
