import pg from 'pg';
import type { CustomTypesConfig } from 'pg';
import { mapArrayDeep, normalizeDecimal, normalizeInteger, normalizeTimestamp } from '../sql/normalize.js';

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
  ]);
  const getTypeParser = (oid: number, format?: 'text' | 'binary') =>
    (format ?? 'text') === 'text' ? (parsers.get(oid) ?? fallback.getTypeParser(oid, format)) : fallback.getTypeParser(oid, format);
  return { getTypeParser: getTypeParser as CustomTypesConfig['getTypeParser'] };
}
