import { describe, expect, it } from 'vitest';
import { columnsOf, csvField, formatRows, jsonSafe } from '../../src/cli/format.js';
import { printable } from '../../src/cli/printable.js';
import { parseCsv } from './support.js';

const rows = [
  { id: 1, name: 'plain', big: 2n ** 70n, blob: Buffer.from([0, 1, 255]), when: new Date('2024-01-02T03:04:05.000Z'), tags: ['a', 'b'], none: null },
  { id: 2, name: 'comma, "quote"\r\nnewline', big: 5n, blob: null, when: null, tags: [], none: undefined },
];
const columns = ['id', 'name', 'big', 'blob', 'when', 'tags', 'none'];

describe('formatRows', () => {
  it('json: bigints as numbers when safe else strings, bytes as base64, dates as ISO', () => {
    expect(JSON.parse(formatRows(rows, columns, 'json'))).toEqual([
      { id: 1, name: 'plain', big: '1180591620717411303424', blob: 'AAH/', when: '2024-01-02T03:04:05.000Z', tags: ['a', 'b'], none: null },
      { id: 2, name: 'comma, "quote"\r\nnewline', big: 5, blob: null, when: null, tags: [], none: null },
    ]);
  });

  it('ndjson: one parseable object per line, newlines inside values escaped', () => {
    const lines = formatRows(rows, columns, 'ndjson').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect((JSON.parse(lines[1]!) as { name: string }).name).toBe(rows[1]!.name);
  });

  it('csv: RFC 4180 with a header, CRLF, quoted fields round-tripping', () => {
    const text = formatRows(rows, columns, 'csv');
    expect(text.endsWith('\r\n')).toBe(true);
    expect(parseCsv(text)).toEqual([
      columns,
      ['1', 'plain', '1180591620717411303424', 'AAH/', '2024-01-02T03:04:05.000Z', '["a","b"]', ''],
      ['2', 'comma, "quote"\r\nnewline', '5', '', '', '[]', ''],
    ]);
    expect(csvField('a"b')).toBe('"a""b"');
    expect(csvField('plain')).toBe('plain');
  });

  it('table: aligned, control characters shown escaped, a row count', () => {
    const text = formatRows([{ n: 1, s: 'a\nb\x1b[31m' }, { n: 22, s: null }], ['n', 's'], 'table');
    expect(text).toBe([' n | s', '---+----------', ' 1 | a\\nb?[31m', '22 | NULL', '(2 rows)', ''].join('\n'));
  });

  it('table: control characters in a column name are escaped as in cells', () => {
    const text = formatRows([{ '\x1b]0;pwned\x07\x1b[2J': 1 }], ['\x1b]0;pwned\x07\x1b[2J'], 'table');
    expect(text.replace(/\n/g, '')).toBe(printable(text.replace(/\n/g, '')));
    expect(text).toBe(['?]0;pwned??[2J', '-'.repeat(14), `${' '.repeat(13)}1`, '(1 row)', ''].join('\n'));
  });

  it('table: exact decimal strings align right with the numbers; zero rows keep the header', () => {
    const text = formatRows([{ total: 12.5 }, { total: '12345678901234567.89' }], ['total'], 'table');
    expect(text).toBe(['               total', '--------------------', '                12.5', '12345678901234567.89', '(2 rows)', ''].join('\n'));
    expect(formatRows([], ['a', 'bb'], 'table')).toBe(['a | bb', '--+---', '(0 rows)', ''].join('\n'));
    expect(formatRows([], ['a', 'bb'], 'csv')).toBe('a,bb\r\n');
  });

  it('derives the columns from the rows when none are declared', () => {
    expect(columnsOf([{ a: 1 }, { b: 2, a: 3 }])).toEqual(['a', 'b']);
    expect(formatRows([{ a: 1 }, { b: 2 }], [], 'csv')).toBe('a,b\r\n1,\r\n,2\r\n');
  });

  it('jsonSafe maps non-JSON numbers to null', () => {
    expect(jsonSafe({ a: NaN, b: Infinity, c: -0 })).toEqual({ a: null, b: null, c: -0 });
  });
});
