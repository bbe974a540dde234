import { gunzipSync } from 'node:zlib';
import { deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry } from '../../src/cache/codec.js';
import { columnsOf, withColumns } from '../../src/data/columns.js';

const odd = { buf: Buffer.from([0, 1, 2, 255]), big: 2n ** 70n, neg: -(2n ** 64n), date: new Date(1234), nan: Number.NaN, negZero: -0, u: undefined, json: { a: [1, 'x', null, { b: true }] } };

describe('the store codec', () => {
  it('round-trips Buffer, bigint, Date, NaN, -0, undefined and nested JSON exactly', async () => {
    const entry = { key: 'shared:k', rows: [odd, { s: 'é€😀' }], source: 's', tags: ['t'] };
    const back = await decodeEntry(await encodeEntry(entry, 1024));
    expect(back).toEqual(entry);
    const row = back!.rows[0]!;
    expect(Buffer.isBuffer(row.buf)).toBe(true);
    expect(typeof row.big).toBe('bigint');
    expect(row.date).toBeInstanceOf(Date);
    expect(Object.is(row.negZero, -0)).toBe(true);
    expect('u' in row).toBe(true);
  });

  it('gzips a value only above the threshold, behind a header that says so', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ id: i, name: 'the same text again and again' }));
    const big = await encodeEntry({ key: 'k', rows, source: 's', tags: [] }, 1024);
    expect([...big.subarray(0, 3)]).toEqual([0x54, 1, 1]);
    const raw = gunzipSync(big.subarray(3));
    expect(big.length).toBeLessThan(raw.length / 4);
    expect((deserialize(raw) as { rows: unknown }).rows).toEqual(rows);

    const small = await encodeEntry({ key: 'k', rows: [{ id: 1 }], source: 's', tags: [] }, 1024);
    expect([...small.subarray(0, 3)]).toEqual([0x54, 1, 0]);
    expect((await decodeEntry(small))!.rows).toEqual([{ id: 1 }]);
  });

  it('keeps the column names of a zero-row result', async () => {
    const rows = withColumns([], ['id', 'total']);
    const back = await decodeEntry(await encodeEntry({ key: 'k', rows, source: 's', tags: [] }, 1024));
    expect(back!.rows).toEqual([]);
    expect(columnsOf(back!.rows)).toEqual(['id', 'total']);
    const plain = await decodeEntry(await encodeEntry({ key: 'k', rows: [{ a: 1 }], source: 's', tags: [] }, 1024));
    expect(columnsOf(plain!.rows)).toBeUndefined();
  });

  it('reads anything else as a miss', async () => {
    const good = await encodeEntry({ key: 'k', rows: [], source: 's', tags: [] }, 0);
    for (const bad of [Buffer.from(''), Buffer.from('hello'), Buffer.from([0x54, 2, 0, 1]), Buffer.concat([good.subarray(0, 3), Buffer.from('not gzip')]), Buffer.from([0x54, 1, 9, 1])]) {
      expect(await decodeEntry(bad)).toBeUndefined();
    }
  });
});
