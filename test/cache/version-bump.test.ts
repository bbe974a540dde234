import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createExecutor, type Row, type SourceExecutor } from '../../src/index.js';

// "Bump the source's version" invalidates: a source's version() is asked again by every
// run (once per run and source), so rows cached under an older version are never served
// after it changes — synchronous and asynchronous answers alike.

function versioned(version: () => string | Promise<string>) {
  let calls = 0;
  let asked = 0;
  const source: SourceExecutor = {
    kind: 'versioned',
    querySchema: z.unknown(),
    version: () => {
      asked++;
      return version();
    },
    execute: () => Promise.resolve<Row[]>([{ call: ++calls }]),
  };
  return { source, calls: () => calls, asked: () => asked };
}

const plan = { id: 'v', fragments: [{ id: 'a', source: 's', query: {} }, { id: 'b', source: 's', query: { other: 1 } }], merge: { op: 'union', inputs: ['a', 'b'] } };

describe('a source whose version() changes', () => {
  it.each([
    ['synchronous', (v: string) => v],
    ['asynchronous', (v: string) => Promise.resolve(v)],
  ])('is asked per run; a bumped %s version misses the old entries', async (_kind, answer) => {
    let current = '1';
    const s = versioned(() => answer(current));
    const executor = createExecutor({ sources: { s: s.source } });
    const first = await executor.execute(plan);
    expect(first.stats.cacheHits).toBe(0);
    const again = await executor.execute(plan);
    expect(again.stats.cacheHits).toBe(2);
    expect(again.rows).toEqual(first.rows);
    const askedBefore = s.asked();
    current = '2';
    const bumped = await executor.execute(plan);
    expect(bumped.stats.cacheHits).toBe(0);
    expect(s.calls()).toBe(4);
    // Asked once for the run, not once per fragment.
    expect(s.asked() - askedBefore).toBe(1);
    const hit = await executor.execute(plan);
    expect(hit.stats.cacheHits).toBe(2);
    await executor.close();
  });

  it('a version() that throws on a later run bypasses the cache for that run', async () => {
    let fail = false;
    const s = versioned(() => {
      if (fail) throw new Error('no version today');
      return '1';
    });
    const executor = createExecutor({ sources: { s: s.source } });
    await executor.execute(plan);
    fail = true;
    const r = await executor.execute(plan);
    expect(r.status).toBe('ok');
    expect(r.stats.cacheHits).toBe(0);
    fail = false;
    expect((await executor.execute(plan)).stats.cacheHits).toBe(2);
    await executor.close();
  });
});
