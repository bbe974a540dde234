import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/errors.js';
import { project } from '../../src/merge/project.js';
import { rel } from './support.js';

describe('project', () => {
  it('keeps exactly the listed columns in order, renaming { column, as }', () => {
    const input = rel([{ a: 1, b: 2, c: 3 }, { a: 4, b: null }]);
    const result = project(input, ['c', { column: 'a', as: 'x' }]);
    expect(result).toEqual({ columns: ['c', 'x'], rows: [{ c: 3, x: 1 }, { c: null, x: 4 }] });
    expect(Object.keys(result.rows[0] ?? {})).toEqual(['c', 'x']);
  });

  it('may use a column twice under different names', () => {
    expect(project(rel([{ a: 1 }, { a: 1 }]), ['a', { column: 'a', as: 'b' }]).rows).toEqual([
      { a: 1, b: 1 },
      { a: 1, b: 1 },
    ]);
  });

  it('fails with MERGE_FAILED naming an unknown column and its path', () => {
    try {
      project(rel([{ a: 1 }]), ['a', 'nope'], 'merge.input');
      expect.unreachable();
    } catch (error) {
      expect(isTributaryError(error, 'MERGE_FAILED')).toBe(true);
      expect((error as Error).message).toContain('"nope"');
      expect((error as { issues: unknown }).issues).toEqual([
        { path: 'merge.input.columns[1]', message: expect.any(String) },
      ]);
    }
  });

  it('fails when two output columns share a name', () => {
    expect(() => project(rel([{ a: 1, b: 2 }]), ['a', { column: 'b', as: 'a' }])).toThrow(/twice/);
  });

  it('accepts any column on an empty input, which has none to check', () => {
    expect(project(rel([]), ['nope'])).toEqual({ columns: ['nope'], rows: [] });
  });
});
