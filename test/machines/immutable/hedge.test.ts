import { expect, it } from 'vitest';
import { createExecutor, createVirtualClock } from '../../../src/index.js';
import { snapshotAudit } from '../../support/snapshot-audit.js';
import { tailSource } from '../../support/tail-source.js';

/**
 * Issue 12 under hedged calls (virtual clock): every 20th call takes 300 ms, a hedge starts
 * after 30 ms and the loser is aborted. Every snapshot and event kept on arrival is unchanged
 * after the run; the inspector's stream is consistent.
 */
it('immutable snapshots: hedged calls', async () => {
  const clock = createVirtualClock();
  const source = tailSource(clock);
  const audit = snapshotAudit();
  const executor = createExecutor({ sources: { s: source }, clock, cache: false, concurrency: 100, telemetry: false, hedge: { afterMs: 30 }, inspect: audit.inspect });
  try {
    const ids = Array.from({ length: 40 }, (_, i) => `f${i}`);
    const run = audit.watch(executor.run({ id: 'imm-hedge', fragments: ids.map((id, n) => ({ id, source: 's', query: { n } })), merge: { op: 'union', inputs: ids } }));
    let done = false;
    void run.result.finally(() => (done = true));
    while (!done) await clock.advanceAsync(5);
    const result = await run.result;
    expect(result.status).toBe('ok');
    // Hedged: more calls than fragments, each fragment's row once.
    expect(source.attempts.length).toBeGreaterThan(40);
    expect(result.rows.map((r) => r.n).sort((a, b) => Number(a) - Number(b))).toEqual(ids.map((_, i) => i));
    expect(audit.problems(run, result, ['s'])).toEqual([]);
    expect(audit.kept(run).children).toEqual(['s']);
  } finally {
    await executor.close();
  }
});
