import { describe, expect, it } from 'vitest';
import { exactList } from '../../../src/sources/mysql/exact-params.js';
import { expandListParams, MAX_PLACEHOLDERS, mysqlPlaceholders } from '../../../src/sources/mysql/placeholders.js';

// Pure tests of the `?` scan behind MySQL's bound-list expansion (no server needed).

/** expandListParams, with each value typed for the server (a number as a BIGINT, …) shown as the number it carries. */
function expand(sql: string, params: readonly unknown[], fragmentId?: string): { sql: string; values: unknown[] } {
  const out = expandListParams(sql, params, fragmentId);
  return { sql: out.sql, values: out.values.map((v) => (v !== null && typeof v === 'object' && 'type' in v && 'value' in v ? Number(v.value) : v)) };
}

describe('mysqlPlaceholders', () => {
  const marks = (sql: string) => mysqlPlaceholders(sql).map((at) => sql.slice(0, at));

  it('finds bare placeholders in order', () => {
    expect(mysqlPlaceholders('SELECT ? , ?')).toEqual([7, 11]);
  });

  it('skips quoted strings, identifiers and their escapes', () => {
    expect(marks(`SELECT '?', "?", \`?\`, 'it''s ?', 'a\\'?', ?`)).toHaveLength(1);
    expect(marks("SELECT 'a\\\\', ?")).toHaveLength(1); // an escaped backslash ends the string
    expect(marks('SELECT `a``?`, ?')).toHaveLength(1);
  });

  it('skips comments but scans executable comments', () => {
    expect(marks('SELECT ? -- ?\n, ? # ?\n, /* ? */ ?')).toHaveLength(3);
    expect(marks('SELECT 1--?\n')).toHaveLength(1); // `--` without a space is minus minus
    expect(marks('SELECT /*! ? */ 1, /*M! ? */ 2')).toHaveLength(2);
  });

  it('treats an unterminated quote or comment as running to the end', () => {
    expect(marks("SELECT ?, 'open ?")).toHaveLength(1);
    expect(marks('SELECT ?, /* open ?')).toHaveLength(1);
  });
});

describe('expandListParams', () => {
  it('leaves text without list params untouched and sends undefined as NULL', () => {
    expect(expand('SELECT ?, ?', [1, undefined])).toEqual({ sql: 'SELECT ?, ?', values: [1, null] });
  });

  it('expands the matching ? of a list, keeping other params in place', () => {
    expect(expand("SELECT '?' FROM t WHERE a = ? AND b IN (?) AND c > ?", ['x', [1, 2, 3], 9])).toEqual({
      sql: "SELECT '?' FROM t WHERE a = ? AND b IN (?, ?, ?) AND c > ?",
      values: ['x', 1, 2, 3, 9],
    });
  });

  it('expands an empty list alone in IN (?) to a subquery of no rows (so NOT IN keeps every row), elsewhere to NULL, binding nothing for it', () => {
    expect(expand('SELECT * FROM t WHERE id IN (?) AND x = ?', [[], 5])).toEqual({
      sql: 'SELECT * FROM t WHERE id IN (SELECT NULL FROM DUAL WHERE FALSE) AND x = ?',
      values: [5],
    });
    expect(expand('SELECT * FROM t WHERE id not in( ? ) OR id <> all (?)', [[], []]).sql).toBe('SELECT * FROM t WHERE id not in( SELECT NULL FROM DUAL WHERE FALSE ) OR id <> all (SELECT NULL FROM DUAL WHERE FALSE)');
    expect(expand('SELECT * FROM t WHERE id IN (?, 5) OR COALESCE(?) OR x JOIN (?)', [[], [], []]).sql).toBe('SELECT * FROM t WHERE id IN (5) OR COALESCE(NULL) OR x JOIN (NULL)');
  });

  it('reads set lists with a lexer: comments, newlines, quotes and other elements around an empty list', () => {
    const none = 'SELECT NULL FROM DUAL WHERE FALSE';
    expect(expand('x NOT IN (/* ids ) */ ?)', [[]]).sql).toBe(`x NOT IN (/* ids ) */ ${none})`);
    expect(expand('x NOT IN (\n -- ids )\n ?\n)', [[]]).sql).toBe(`x NOT IN (\n -- ids )\n ${none}\n)`);
    expect(expand('x IN (?, ?, 3, ?) AND y = ?', [[], [1, 2], [], 9])).toEqual({ sql: 'x IN (?, ?, 3) AND y = ?', values: [1, 2, 9] });
    expect(expand('x IN (?, /* c */ ?) AND y IN (?)', [[], [], [4]])).toEqual({ sql: `x IN (${none}) AND y IN (?)`, values: [4] });
    expect(expand('x IN (5, ?, ?)', [[], []]).sql).toBe('x IN (5)');
    // Not a set list: `IN (` in a string, an identifier quoted `in`, a list inside a call.
    expect(expand("x = 'IN (' AND `in`(?) AND y IN (f(?), 2)", [[], []]).sql).toBe("x = 'IN (' AND `in`(NULL) AND y IN (f(NULL), 2)");
  });

  it('keeps Buffers as single values', () => {
    const blob = Buffer.from('ab');
    expect(expand('SELECT ? IN (?)', [blob, [blob]]).values).toEqual([blob, blob]);
  });

  it('refuses to guess when placeholders and params do not line up', () => {
    expect(() => expand('SELECT ?', [[1], 2], 'orders')).toThrow(
      expect.objectContaining({ code: 'FRAGMENT_FAILED' }) as unknown as Error,
    );
  });

  it('refuses lists that expand past the 65,535 placeholders a statement may hold, before any round trip, saying to batch', () => {
    expect(expand('SELECT ? IN (?)', [1, Array.from({ length: MAX_PLACEHOLDERS - 1 }, (_, i) => i)]).values).toHaveLength(MAX_PLACEHOLDERS);
    let error: unknown;
    try {
      expand('SELECT ? IN (?)', [1, Array.from({ length: MAX_PLACEHOLDERS }, (_, i) => i)], 'orders');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'FRAGMENT_FAILED', retryable: false, issues: [{ path: 'fragments.orders.query.params' }] });
    expect((error as Error).message).toContain('give the fragment a batch');
  });

  it('sends a list holding numbers as number literals, its decimal strings too, and a list of decimal strings as text unless one has a fraction', () => {
    const typed = (list: readonly unknown[]): unknown[] =>
      list.map((v) => {
        const p = v as { type?: number; value?: unknown; unsigned?: boolean } | null;
        return p !== null && typeof p === 'object' && p.type !== undefined ? [p.type, String(p.value), ...(p.unsigned ? ['unsigned'] : [])] : v;
      });
    const NEWDECIMAL = 246;
    const LONGLONG = 8;
    expect(typed(exactList([1, '123456789012345678.92', null, 0.1, 1e-7]))).toEqual([
      [LONGLONG, '1'],
      [NEWDECIMAL, '123456789012345678.92'],
      null,
      [NEWDECIMAL, '0.1'],
      [NEWDECIMAL, '0.0000001'],
    ]);
    expect(typed(exactList([7, '9007199254740993', -9007199254740993n]))).toEqual([[LONGLONG, '7'], [LONGLONG, '9007199254740993'], [LONGLONG, '-9007199254740993']]);
    expect(typed(exactList([9223372036854775809n, 18446744073709551617n, 1e18]))).toEqual([[LONGLONG, '9223372036854775809', 'unsigned'], [NEWDECIMAL, '18446744073709551617'], [LONGLONG, '1000000000000000000']]);
    // Decimal strings only, one with a fraction: a DECIMAL column's values, sent as the numbers they spell.
    expect(typed(exactList(['123456789012345678.92', null, '12345678901234567891']))).toEqual([[NEWDECIMAL, '123456789012345678.92'], null, [LONGLONG, '12345678901234567891', 'unsigned']]);
    expect(typed(exactList([1, 'abc', Number.NaN, 2.5]))).toEqual([[LONGLONG, '1'], 'abc', Number.NaN, [NEWDECIMAL, '2.5']]);
    for (const same of [['9007199254740993', 'abc'], ['9007199254740993', '18446744073709551617'], ['7', 'x'], []]) expect(exactList(same)).toEqual(same);
  });

  it('sends a scalar bigint or number as the literal it spells, a string as text', () => {
    const { values } = expandListParams('SELECT ?, ?, ?, ?, ?, ?, ?, ?', [9007199254740993n, -1n, 2n ** 64n - 1n, 2n ** 64n, 0.1, 1e-40, '9007199254740993', true]);
    const shown = values.map((v) => {
      const p = v as { type?: number; value?: unknown; unsigned?: boolean } | null;
      return p !== null && typeof p === 'object' && p.type !== undefined ? `${p.type}:${String(p.value)}${p.unsigned ? ' unsigned' : ''}` : v;
    });
    expect(shown).toEqual(['8:9007199254740993', '8:-1', '8:18446744073709551615 unsigned', '246:18446744073709551616', '246:0.1', 1e-40, '9007199254740993', true]);
  });
});

describe('expandListParams: params against placeholders', () => {
  const refused = (sql: string, params: unknown[]) => () => expand(sql, params, 'f');

  it('refuses extra or missing params, lists or not', () => {
    expect(refused('SELECT 1', [5])).toThrow(/the SQL has 0 \? placeholders but 1 params were given/);
    expect(refused('SELECT ?', [1, 2])).toThrow(expect.objectContaining({ code: 'FRAGMENT_FAILED', retryable: false }) as unknown as Error);
    expect(refused("SELECT ?, '?'", [])).toThrow(/1 \? placeholders but 0 params/);
  });

  it('reads a backslash literal as NO_BACKSLASH_ESCAPES does when only that reading matches', () => {
    const sql = "SELECT '\\' AS b, ? AS a WHERE x IN (?)";
    expect(expand(sql, [1, [2, 3]])).toEqual({ sql: "SELECT '\\' AS b, ? AS a WHERE x IN (?, ?)", values: [1, 2, 3] });
    expect(expand("SELECT 'a\\'?', ?", [1]).sql).toBe("SELECT 'a\\'?', ?");
  });
});
