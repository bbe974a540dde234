import { expect, it } from 'vitest';
import { createExecutor } from '../../src/index.js';
import { hanging, settles } from '../support/hanging-source.js';

// `run.actor.stop()` is a cancel, also before the actor has started (it starts on the next
// microtask, or once an asynchronous authorize rule has answered): a component unmounted at
// once must not leave its query running, holding its principal's quota slot for ever.

const plan = { id: 'early', fragments: [{ id: 'a', source: 'h', query: { name: 'a' } }] };
const alice = { id: 'alice' };

it.each([
  ['no authorize rule', undefined],
  ['an asynchronous authorize rule', () => Promise.resolve(true)],
])('an actor stopped before it started cancels its run (%s)', async (_what, authorize) => {
  const h = hanging();
  const executor = createExecutor({ sources: { h: h.source }, quotas: { maxRunningQueries: 1 }, ...(authorize ? { authorize } : {}) });
  const run = executor.run(plan, { principal: alice });
  const seen: string[] = [];
  run.actor.subscribe({ next: (s) => seen.push(`${String(s.value)} ${s.status}`), complete: () => seen.push('complete') });
  run.actor.stop();
  // It reads as stopped, as a started actor stopped does (it said `active`, in `planned`, for good).
  expect(run.actor.getSnapshot()).toMatchObject({ value: 'planned', status: 'stopped' });
  expect(seen).toEqual(['planned active', 'complete']);
  expect(await settles(run.result)).toBe(true);
  await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
  expect(h.calls).toEqual([]);
  expect(executor.metrics().runningQueries).toBe(0);
  // Its slot was given back.
  const next = executor.run(plan, { principal: alice });
  next.cancel();
  expect(await settles(next.result)).toBe(true);
  expect(await settles(executor.close())).toBe(true);
});
