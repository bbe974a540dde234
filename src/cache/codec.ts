import { promisify } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { gunzip, gzip } from 'node:zlib';
import { columnsOf, withColumns } from '../data/columns.js';
import type { StoredEntry } from './store.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The first bytes of every value: a magic byte, the format version, the compression. */
const MAGIC = 0x54; // 'T'
const FORMAT = 1;
export const COMPRESSION = { none: 0, gzip: 1 } as const;

/**
 * Encodes an entry for a byte store: `v8.serialize` (the structured clone format, so
 * `Buffer`, `bigint`, `Date`, `undefined`, `NaN` and nested JSON all come back exactly as
 * they were), gzipped when the serialized form is over `compressAboveBytes`, behind a
 * 3-byte header saying which.
 */
export async function encodeEntry(entry: StoredEntry, compressAboveBytes: number): Promise<Buffer> {
  // The column names travel beside the rows (an array's own property would not survive the
  // clone), so a cached zero-row result still knows its columns.
  const columns = columnsOf(entry.rows);
  const raw = serialize({
    key: entry.key,
    rows: entry.rows,
    source: entry.source,
    tags: [...entry.tags],
    ...(columns ? { columns } : {}),
    ...(entry.lifetimeMs === undefined ? {} : { lifetimeMs: entry.lifetimeMs }),
  });
  const compress = raw.length > compressAboveBytes;
  const body = compress ? await gzipAsync(raw) : raw;
  return Buffer.concat([Buffer.from([MAGIC, FORMAT, compress ? COMPRESSION.gzip : COMPRESSION.none]), body]);
}

/** The default bound on an entry's serialized bytes, stored or gunzipped (the cache's own default `maxBytes`). */
export const DEFAULT_MAX_ENTRY_BYTES = 64 * 2 ** 20;

/**
 * Decodes what `encodeEntry` wrote. Returns `undefined` for anything else (a value written
 * by another format version, or damaged, or whose rows are not all objects, or that is or
 * gunzips to more than `maxBytes`: a small value in a shared Redis must not expand into
 * gigabytes in this process): the caller treats it as a miss.
 */
export async function decodeEntry(value: Buffer, maxBytes = DEFAULT_MAX_ENTRY_BYTES): Promise<StoredEntry | undefined> {
  if (value.length < 3 || value[0] !== MAGIC || value[1] !== FORMAT || value.length - 3 > maxBytes) return undefined;
  try {
    const body = value.subarray(3);
    // Past maxOutputLength gunzip fails (RangeError) without producing the rest: a miss.
    const raw = value[2] === COMPRESSION.gzip ? await gunzipAsync(body, { maxOutputLength: maxBytes }) : value[2] === COMPRESSION.none ? body : undefined;
    if (raw === undefined) return undefined;
    const decoded = deserialize(raw) as (Partial<StoredEntry> & { columns?: unknown }) | null;
    if (
      typeof decoded !== 'object' ||
      decoded === null ||
      typeof decoded.key !== 'string' ||
      typeof decoded.source !== 'string' ||
      !Array.isArray(decoded.rows) ||
      !Array.isArray(decoded.tags) ||
      // Rows are objects: anything else (another writer's format, a damaged value) is no hit.
      !decoded.rows.every((row: unknown) => typeof row === 'object' && row !== null && !Array.isArray(row))
    ) {
      return undefined;
    }
    const names = decoded.columns;
    const rows = Array.isArray(names) && names.every((n) => typeof n === 'string') ? withColumns(decoded.rows, names as string[]) : decoded.rows;
    const lifetimeMs = typeof decoded.lifetimeMs === 'number' && decoded.lifetimeMs > 0 ? { lifetimeMs: decoded.lifetimeMs } : {};
    return { key: decoded.key, rows, source: decoded.source, tags: decoded.tags, ...lifetimeMs };
  } catch {
    return undefined;
  }
}
