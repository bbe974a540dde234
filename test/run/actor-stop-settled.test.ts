import { afterEach, expect, it } from 'vitest';
import { createExecutor, type ExecutionEvent, type Executor, type Progress } from '../../src/index.js';
import { sourceError, testSource } from '../support/engine.js';

// README (run.actor, Events and progress): an `events$` handler that stops the actor on a
// fragment's outcome ends the run as a cancel; the outcome it was told of still counts, so the
// last progress adds up to `total` and agrees with the events — as a `run.cancel()` there does.
let executor: Executor | undefined;
afterEach(async () => {
  await executor?.close();
  executor = undefined;
});

const TERMINAL = new Set(['fragment.succeeded', 'fragment.failed', 'fragment.skipped', 'fragment.dropped', 'fragment.cancelled']);

it.each([
  ['fragment.succeeded', 'ok', { succeeded: 1, failed: 0, skipped: 0, cancelled: 1 }, ['a:fragment.succeeded', 'b:fragment.cancelled']],
  ['fragment.failed', 'broken', { succeeded: 0, failed: 1, skipped: 1, cancelled: 0 }, ['a:fragment.failed', 'b:fragment.skipped']],
] as const)('stopped by an events$ handler on %s, the outcome it was told of counts', async (type, key, counts, terminals) => {
  const db = testSource({ behaviour: (call) => (call.key === 'broken' ? sourceError('no such table', false) : [{ k: call.key }]) });
  executor = createExecutor({ sources: { db: db.source }, cache: false, telemetry: false, retry: { attempts: 1 } });
  const run = executor.run({
    id: 'stop-on-outcome',
    fragments: [
      { id: 'a', source: 'db', query: { key } },
      { id: 'b', source: 'db', query: { key: 'b' }, dependsOn: ['a'] },
    ],
    errorPolicy: 'partial',
  });
  const progress: Progress[] = [];
  run.progress$.subscribe((p) => progress.push(p));
  const events: ExecutionEvent[] = [];
  run.events$.subscribe((e) => {
    events.push(e);
    if (e.type === type) run.actor.stop();
  });
  await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
  expect(events.flatMap((e) => (TERMINAL.has(e.type) && 'fragmentId' in e ? [`${e.fragmentId}:${e.type}`] : []))).toEqual(terminals);
  const last = progress.at(-1)!;
  expect(last).toMatchObject({ total: 2, ...counts, running: 0, done: true });
  expect(last.succeeded + last.failed + last.skipped + last.cancelled).toBe(last.total);
  expect(db.calls.map((c) => c.key)).toEqual([key]);
});
