import pg from 'pg';
import type { CustomTypesConfig } from 'pg';
import { mapArrayDeep, normalizeDecimal, normalizeInteger, normalizeTimestamp, parseJsonValue } from '../sql/normalize.js';

/** The values policy as per-pool pg type parsers, falling back to `fallback` (the app's). */
export function policyTypes(fallback: CustomTypesConfig): CustomTypesConfig {
  // text[]'s parser splits any array literal into nested strings; the policy maps the leaves.
  const byOid = pg.types.getTypeParser as (oid: number, format: 'text') => (text: string) => unknown;
  const textArray = byOid(1009, 'text');
  const arrayOf = (leaf: (s: string) => unknown) => (text: string) => mapArrayDeep(textArray(text), leaf);
  const keepText = (text: string) => text;
  const parsers = new Map<number, (text: string) => unknown>([
    [20, normalizeInteger], // int8: pg's default is always a string
    [1016, arrayOf(normalizeInteger)], // int8[]
    [1700, normalizeDecimal], // numeric: pg's default is always a string
    [1231, arrayOf(normalizeDecimal)], // numeric[]: pg's default parses floats and loses digits
    [1082, keepText], // date: pg's default is a Date at local midnight
    [1182, textArray], // date[]
    [1114, normalizeTimestamp], // timestamp: pg's default reads it as local time
    [1115, arrayOf(normalizeTimestamp)],
    [1184, normalizeTimestamp], // timestamptz
    [1185, arrayOf(normalizeTimestamp)],
    [1186, keepText], // interval: pg's default is a PostgresInterval object, which a copy (v8.serialize) turns into a plain one
    [1187, textArray], // interval[]
    [114, parseJsonValue], // json: pg's default JSON.parse rounds integers beyond 2^53
    [199, arrayOf(parseJsonValue)], // json[]
    [3802, parseJsonValue], // jsonb
    [3807, arrayOf(parseJsonValue)], // jsonb[]
  ]);
  const getTypeParser = (oid: number, format?: 'text' | 'binary') =>
    (format ?? 'text') === 'text' ? (parsers.get(oid) ?? fallback.getTypeParser(oid, format)) : fallback.getTypeParser(oid, format);
  return { getTypeParser: getTypeParser as CustomTypesConfig['getTypeParser'] };
}

/**
 * Bound values as pg should send them. pg turns a `Date` into text in the Node process's
 * local time zone (with its offset), so a `timestamp` column — zoneless, read as UTC by the
 * values policy — would be compared with the local wall-clock time. A valid `Date` is sent as
 * its `toISOString()` text instead, in lists too, as the other SQL sources bind it. The
 * params are returned as they are when none holds a Date.
 */
export function bindValues(params: readonly unknown[]): unknown[] {
  return params.some(holdsDate) ? params.map(utcDates) : (params as unknown[]);
}

function holdsDate(value: unknown): boolean {
  return value instanceof Date || (Array.isArray(value) && value.some(holdsDate));
}

function utcDates(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? value : value.toISOString();
  return Array.isArray(value) ? value.map(utcDates) : value;
}
