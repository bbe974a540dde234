import type { Plan, Row } from '../src/index.js';

/** Plan limits high enough for the biggest generated plan. */
export const BIG_LIMITS = { maxFragments: 100_000, maxDepth: 1000, maxMergeNodes: 100_000, maxPlanBytes: 2 ** 30 };

export interface LayeredFragment {
  id: string;
  query: unknown;
  dependsOn: string[];
}

export interface LayeredPlan {
  plan: Plan;
  /** The fragments level by level, as the hand-written executor walks them. */
  levels: LayeredFragment[][];
}

/**
 * `n` fragments on `source` in `depth` levels of near-equal width; fragment i of level l
 * depends on fragment i mod width of level l-1. The merge is a union of the last level.
 */
export function layeredPlan(n: number, source: string, query: (index: number) => unknown, depth = 4): LayeredPlan {
  const levels: LayeredFragment[][] = [];
  let index = 0;
  for (let l = 0; l < depth; l++) {
    const width = Math.floor(n / depth) + (l < n % depth ? 1 : 0);
    const level: LayeredFragment[] = [];
    for (let i = 0; i < width; i++) {
      const above = levels[l - 1];
      level.push({ id: `f${l}_${i}`, query: query(index++), dependsOn: above ? [above[i % above.length]!.id] : [] });
    }
    levels.push(level);
  }
  const last = levels[levels.length - 1]!;
  const plan: Plan = {
    id: `layered-${n}`,
    fragments: levels.flat().map((f) => ({ id: f.id, source, query: f.query, ...(f.dependsOn.length > 0 ? { dependsOn: f.dependsOn } : {}) })),
    merge: { op: 'union', inputs: last.map((f) => f.id) },
  };
  return { plan, levels };
}

/** A counting semaphore: at most `cap` calls of the returned wrapper run at once. */
export function limiter(cap: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= cap) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * The hand-written baseline: `Promise.all` level by level (optionally under a concurrency
 * cap), each fragment one `call(query)`, then the last level's rows concatenated.
 */
export async function handWritten(levels: readonly LayeredFragment[][], call: (query: unknown) => Promise<Row[]>, cap = Infinity): Promise<Row[]> {
  const limit = Number.isFinite(cap) ? limiter(cap) : <T>(fn: () => Promise<T>) => fn();
  let rowsOfLevel: Row[][] = [];
  for (const level of levels) rowsOfLevel = await Promise.all(level.map((f) => limit(() => call(f.query))));
  return rowsOfLevel.flat();
}
