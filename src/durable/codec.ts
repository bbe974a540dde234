import { deserialize, serialize } from 'node:v8';
import { gunzipSync } from 'node:zlib';
import { columnsOf, withColumns } from '../data/columns.js';
import type { Row } from '../data/row.js';
import { TributaryError } from '../errors.js';
import { encodeRows } from '../remote/codec.js';
import type { Principal } from '../sources/source.js';
import { fragmentByteBound } from './fragment-bound.js';
import type { StoredFragment } from './run-store.js';

/** Chunk size of stored rows (like the remote results). */
export const CHUNK_BYTES = 256 * 1024;

/** What a stored run's payload holds: the plan as given and the run's options. */
export interface RunPayload {
  plan: unknown;
  principal?: Principal;
  params?: Record<string, unknown>;
  deadlineMs?: number;
}

/**
 * The plan and options, V8-serialized (the structured clone format: bigint, Date and Buffer
 * params survive; functions cannot be stored at all).
 */
export function encodePayload(payload: RunPayload): Buffer {
  return serialize({ v: 1, ...payload });
}

/** Decodes a payload, checking its shape; anything else is a damaged run. */
export function decodePayload(runId: string, bytes: Buffer): RunPayload {
  let value: unknown;
  try {
    value = deserialize(bytes);
  } catch (error) {
    throw damaged(runId, 'its payload cannot be decoded', error);
  }
  if (!isPlainRecord(value) || value.v !== 1 || !('plan' in value)) throw damaged(runId, 'its payload is not a stored run');
  const { plan, principal, params, deadlineMs } = value;
  if (principal !== undefined && (!isPlainRecord(principal) || typeof principal.id !== 'string')) throw damaged(runId, 'its principal has no id');
  if (params !== undefined && !isPlainRecord(params)) throw damaged(runId, 'its params are not an object');
  if (deadlineMs !== undefined && (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs))) throw damaged(runId, 'its deadline is not a number');
  return {
    plan,
    ...(principal === undefined ? {} : { principal: principal as Principal }),
    ...(params === undefined ? {} : { params: params }),
    ...(deadlineMs === undefined ? {} : { deadlineMs: deadlineMs as number }),
  };
}

/** A finished fragment's rows → gzipped chunks (the remote codec's), with their column names. */
export function encodeFragment(fragmentId: string, rows: Row[]): StoredFragment {
  const columns = columnsOf(rows);
  return { fragmentId, rowCount: rows.length, chunks: encodeRows(rows, CHUNK_BYTES), columns: columns ? JSON.stringify(columns) : undefined };
}

/**
 * Stored chunks → rows, never past the limits: the gunzipped bytes are capped (no
 * decompression bomb: see `fragmentByteBound`; `storeBound` is the store's `maxFragmentBytes`) and the row count checked, so a tampered store cannot hand a run more
 * than its fragment could have fetched.
 */
export function decodeFragment(runId: string, stored: StoredFragment, limits: { maxRows?: number; maxBytes?: number }, storeBound?: number): Row[] {
  if (stored.chunks.length === 0) {
    // Rows lost (a wiped BLOB, dropped chunks): not an empty result.
    if (stored.rowCount !== 0) throw damaged(runId, `fragment "${stored.fragmentId}" should hold ${stored.rowCount} rows but holds none`);
    return withColumnsOf(runId, [], stored.columns);
  }
  const maxOutputLength = fragmentByteBound(limits, storeBound);
  let rows: unknown;
  try {
    const raw = gunzipSync(Buffer.concat(stored.chunks), { maxOutputLength });
    rows = deserialize(raw);
  } catch (error) {
    if (isTooLarge(error)) throw damaged(runId, `the rows of fragment "${stored.fragmentId}" gunzip to more than ${maxOutputLength} bytes`, error);
    throw damaged(runId, `the rows of fragment "${stored.fragmentId}" cannot be decoded`, error);
  }
  if (!Array.isArray(rows) || !rows.every(isPlainRecord)) throw damaged(runId, `fragment "${stored.fragmentId}" holds something that is not rows`);
  if (limits.maxRows !== undefined && rows.length > limits.maxRows) throw damaged(runId, `fragment "${stored.fragmentId}" holds ${rows.length} rows, more than maxRows=${limits.maxRows}`);
  if (rows.length !== stored.rowCount) throw damaged(runId, `fragment "${stored.fragmentId}" holds ${rows.length} rows, but ${stored.rowCount} were stored`);
  return withColumnsOf(runId, rows as Row[], stored.columns);
}

/** zlib's refusal to inflate past `maxOutputLength`. */
function isTooLarge(error: unknown): boolean {
  return error instanceof RangeError && (error as RangeError & { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
}

function withColumnsOf(runId: string, rows: Row[], columns: string | undefined): Row[] {
  if (columns === undefined) return rows;
  const names = safeJsonParse(columns);
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw damaged(runId, 'stored column names are not a list of strings');
  return withColumns(rows, names as string[]);
}

/**
 * `JSON.parse` that drops `__proto__`, `constructor` and `prototype` keys, so stored JSON
 * (a snapshot, column names) cannot reach any prototype even if a caller merges it later.
 */
export function safeJsonParse(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => (key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : value));
}

/**
 * A stored run's query-machine snapshot (what `actor.getPersistedSnapshot()` gave when its
 * last fragment was stored), parsed safely: for inspection, e.g. which state the run was in.
 */
export function readRunSnapshot(json: string | undefined): Record<string, unknown> | undefined {
  if (json === undefined) return undefined;
  try {
    const value = safeJsonParse(json);
    return isPlainRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function damaged(runId: string, why: string, cause?: unknown): TributaryError {
  return new TributaryError('SOURCE_BAD_RESPONSE', `stored run "${runId}" is damaged: ${why}`, { issues: [{ path: `runs.${runId}`, message: why }], ...(cause === undefined ? {} : { cause }) });
}
