import { describe, expect, it } from 'vitest';
import { levels } from '../../src/index.js';

describe('levels', () => {
  it('puts fragments without dependencies on level 0, in plan order', () => {
    expect(levels([{ id: 'b' }, { id: 'a' }, { id: 'c' }])).toEqual([['b', 'a', 'c']]);
  });

  it('places a fragment one level below its deepest dependency', () => {
    const out = levels([
      { id: 'd', dependsOn: ['a', 'c'] },
      { id: 'a' },
      { id: 'b', dependsOn: ['a'] },
      { id: 'c', dependsOn: ['b'] },
      { id: 'e', dependsOn: ['a'] },
    ]);
    expect(out).toEqual([['a'], ['b', 'e'], ['c'], ['d']]);
  });

  it('handles a diamond: the join point waits for both branches', () => {
    expect(
      levels([
        { id: 'top' },
        { id: 'left', dependsOn: ['top'] },
        { id: 'right', dependsOn: ['top'] },
        { id: 'bottom', dependsOn: ['left', 'right'] },
      ]),
    ).toEqual([['top'], ['left', 'right'], ['bottom']]);
  });

  it('ignores a repeated dependency', () => {
    expect(levels([{ id: 'a' }, { id: 'b', dependsOn: ['a', 'a'] }])).toEqual([['a'], ['b']]);
  });

  it('computes a 10,000-deep chain without overflowing the stack', () => {
    const n = 10_000;
    const chain = Array.from({ length: n }, (_, i) => ({ id: `f${i}`, ...(i > 0 ? { dependsOn: [`f${i - 1}`] } : {}) }));
    chain.reverse();
    const out = levels(chain);
    expect(out).toHaveLength(n);
    expect(out[0]).toEqual(['f0']);
    expect(out[n - 1]).toEqual([`f${n - 1}`]);
  });
});

describe('levels() on a whole plan', () => {
  it('accepts a plan as well as its fragments', () => {
    const fragments = [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }];
    expect(levels({ fragments })).toEqual(levels(fragments));
    expect(levels({ fragments })).toEqual([['a'], ['b']]);
  });
});
