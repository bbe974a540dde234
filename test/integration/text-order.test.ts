import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, postgresSource, type Executor, type MergeNode, type Row } from '../../src/index.js';
import { describeWithServer, requireServer } from '../support/servers.js';

/**
 * Text beyond the Basic Multilingual Plane (emoji, mathematical letters, CJK extension B)
 * against text in U+E000–U+FFFF (private use, CJK compatibility, fullwidth forms). The merge
 * tree orders strings as PostgreSQL's COLLATE "C" does (also MariaDB's _bin collations and
 * SQLite's BINARY): by code point. JS compares UTF-16 code units, in which a surrogate pair
 * (U+D800–U+DFFF) sorts before U+E000, so '😀' came before 'Ａ' in sort, min, max and filters.
 */

const server = await requireServer('postgres');

const VALUES = ['😀', 'Ａ', 'a', '\uE000', '𝒜', 'ﬀ', 'ab', '𝒜b', 'Ａa', '~', null];
const TABLE = `(VALUES ${VALUES.map((v, i) => `(${i}, ${v === null ? 'NULL::text' : `'${v}'::text`})`).join(', ')}) AS t(id, x)`;

describeWithServer(server, 'text order beyond the BMP, against PostgreSQL COLLATE "C"', () => {
  let executor: Executor;
  beforeAll(() => {
    executor = createExecutor({ sources: { pg: postgresSource({ url: server.url }) }, cache: false });
  });
  afterAll(() => executor.close());

  const run = async (merge: MergeNode): Promise<Row[]> => {
    const result = await executor.execute({ fragments: [{ id: 't', source: 'pg', query: { sql: `SELECT id, x FROM ${TABLE}` } }], merge });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    return result.rows;
  };
  const oracle = async (sql: string): Promise<Row[]> => {
    const source = postgresSource({ url: server.url });
    try {
      return (await source.execute({ sql }, { params: [], signal: new AbortController().signal })) as Row[];
    } finally {
      await source.close();
    }
  };

  it('sorts, both ways, as PostgreSQL sorts COLLATE "C" text', async () => {
    for (const dir of ['ASC', 'DESC'] as const) {
      const got = await run({ op: 'project', columns: ['x'], input: { op: 'sort', by: [{ column: 'x', desc: dir === 'DESC' }, { column: 'id' }], input: 't' } });
      const want = await oracle(`SELECT x FROM ${TABLE} ORDER BY x COLLATE "C" ${dir}, id`);
      expect(got.map((r) => r.x)).toEqual(want.map((r) => r.x));
    }
    // Two keys: the text key is compared by the general comparator.
    const got = await run({ op: 'project', columns: ['x'], input: { op: 'sort', by: [{ column: 'x' }, { column: 'id', desc: true }], input: 't' } });
    const want = await oracle(`SELECT x FROM ${TABLE} ORDER BY x COLLATE "C", id DESC`);
    expect(got.map((r) => r.x)).toEqual(want.map((r) => r.x));
  });

  it('gives min and max, and filters with lt / ge, as PostgreSQL does', async () => {
    const [agg] = await run({ op: 'aggregate', groupBy: [], aggregates: [{ fn: 'min', column: 'x', as: 'mn' }, { fn: 'max', column: 'x', as: 'mx' }], input: 't' });
    const [want] = await oracle(`SELECT min(x COLLATE "C") AS mn, max(x COLLATE "C") AS mx FROM ${TABLE}`);
    expect(agg).toEqual(want);
    for (const [op, sqlOp, literal] of [['lt', '<', '\uFFFF'], ['ge', '>=', 'Ａ'], ['gt', '>', '😀']] as const) {
      const got = await run({ op: 'sort', by: [{ column: 'id' }], input: { op: 'filter', where: { [op]: ['x', literal] }, input: 't' } } as MergeNode);
      const rows = await oracle(`SELECT id, x FROM ${TABLE} WHERE x COLLATE "C" ${sqlOp} '${literal}' ORDER BY id`);
      expect({ op, ids: got.map((r) => r.id) }).toEqual({ op, ids: rows.map((r) => r.id) });
    }
  });
});
