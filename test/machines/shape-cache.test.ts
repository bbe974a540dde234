import { describe, expect, it } from 'vitest';
import { defaultPlanLimits, queryMachineFor, TributaryError } from '../../src/index.js';
import { shapeCache } from '../../machines/shape-cache.js';

describe('query machine definitions per plan shape', () => {
  it('refuses a level count no plan can have with PLAN_INVALID at levelCount (it built a broken machine, or never returned)', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '2' as unknown as number]) {
      let thrown: unknown;
      try {
        queryMachineFor(bad);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, String(bad)).toBeInstanceOf(TributaryError);
      expect(thrown).toMatchObject({ code: 'PLAN_INVALID', issues: [{ path: 'levelCount' }] });
    }
  });

  it('keeps every shape a plan within the default limits can have', () => {
    const first = queryMachineFor(1);
    for (let n = 1; n <= defaultPlanLimits.maxDepth; n++) queryMachineFor(n);
    expect(queryMachineFor(1)).toBe(first);
  });

  it('keeps a bounded number of states, not every shape it ever built (a raised maxDepth met with ever new depths grew without end)', () => {
    const one = queryMachineFor(1);
    // 100 shapes of 201–300 levels: ~25,000 states, more than the bound.
    for (let n = 201; n <= 300; n++) queryMachineFor(n);
    expect(queryMachineFor(300)).toBe(queryMachineFor(300));
    // The least recently used went first, and is built again when asked for.
    const again = queryMachineFor(1);
    expect(again).not.toBe(one);
    expect(queryMachineFor(1)).toBe(again);
  });

  it('evicts by states, least recently used first', () => {
    const built: number[] = [];
    const machineFor = shapeCache((levels) => {
      built.push(levels);
      return { levels };
    }, 40);
    const one = machineFor(1);
    expect(machineFor(1)).toBe(one);
    machineFor(2);
    machineFor(3);
    machineFor(1);
    machineFor(4);
    machineFor(5);
    // 5 + 6 + 7 + 8 + 9 states fit in 40: nothing was built twice.
    expect(built).toEqual([1, 2, 3, 4, 5]);
    // 10 more do not: the least recently used (2) goes, 1 (used since) stays.
    machineFor(6);
    machineFor(2);
    machineFor(1);
    expect(built).toEqual([1, 2, 3, 4, 5, 6, 2]);
  });
});
