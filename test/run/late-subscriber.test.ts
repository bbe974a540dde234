import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, progressFrom, type ExecutionEvent, type Executor, type Progress } from '../../src/index.js';
import { collectEvents, ofType, testSource, until, type TestSource } from '../support/engine.js';
import { unannounced } from '../support/level-watch.js';

/**
 * README "Events and progress": a subscriber joining `run.events$` mid-run first gets the
 * `level.started` of each level still open, as it was sent, so every fragment event it sees
 * comes under its level's header; after the run's end it gets nothing.
 */
describe('run.events$ joined mid-run', () => {
  let executor: Executor | undefined;
  let db: TestSource;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  /** eager: `a` (level 0) answers at once, `slow` (level 0) and `c` (level 1, after `a`) wait for the test; `d` (level 2) after `c`. */
  const start = () => {
    db = testSource({ behaviour: (call) => (call.key === 'a' || call.key === 'd' ? [{ k: call.key }] : undefined) });
    executor = createExecutor({ sources: { db: db.source }, cache: false, telemetry: false, retry: { attempts: 1 } });
    const run = executor.run({
      id: 'late-join',
      fragments: [
        { id: 'a', source: 'db', query: { key: 'a' } },
        { id: 'slow', source: 'db', query: { key: 'slow' } },
        { id: 'c', source: 'db', query: { key: 'c' }, dependsOn: ['a'] },
        { id: 'd', source: 'db', query: { key: 'd' }, dependsOn: ['c'] },
      ],
      merge: { op: 'union', inputs: ['slow', 'd'] },
      schedule: 'eager',
    });
    return { run, early: collectEvents(run) };
  };
  const call = (key: string) => db.calls.find((c) => c.key === key)!;
  const headers = (events: readonly ExecutionEvent[]) => ofType(events, 'level.started').map((e) => `${e.level}:${e.fragments}@${e.at}`);

  it('first gets the headers of the open levels, as they were sent, then every event under its header', async () => {
    const { run, early } = start();
    await until(() => db.calls.some((c) => c.key === 'c'), 'c called');
    const late: ExecutionEvent[] = [];
    let completed = false;
    const joined = early.length;
    run.events$.subscribe({ next: (e) => late.push(e), complete: () => (completed = true) });
    // Levels 0 (slow runs) and 1 (c runs) are open; level 2 is not announced yet.
    expect(headers(late)).toEqual(headers(early).slice(0, 2));
    expect(late.map((e) => e.type)).toEqual(['level.started', 'level.started']);
    call('slow').resolve([{ k: 'slow' }]);
    call('c').resolve([{ k: 'c' }]);
    expect((await run.result).status).toBe('ok');
    expect(completed).toBe(true);
    expect(unannounced(late)).toEqual([]);
    expect(headers(late)).toEqual(headers(early));
    // From the headers on, the late subscriber got what the early one got after them.
    expect(late.slice(2)).toEqual(early.slice(joined));
  });

  it('gets no header of a level already finished, and progressFrom on it ends where run.progress$ ends', async () => {
    const { run, early } = start();
    await until(() => db.calls.some((c) => c.key === 'c'), 'c called');
    call('slow').resolve([{ k: 'slow' }]);
    await until(() => early.some((e) => e.type === 'fragment.succeeded' && e.fragmentId === 'slow'), 'slow settled');
    const late: ExecutionEvent[] = [];
    run.events$.subscribe((e) => late.push(e));
    const fromLate: Progress[] = [];
    progressFrom(run.events$, 4).subscribe((p) => fromLate.push(p));
    const fromRun: Progress[] = [];
    run.progress$.subscribe((p) => fromRun.push(p));
    // Level 0 has finished: only level 1's header, and progressFrom names the level run.progress$ names.
    expect(headers(late)).toEqual([headers(early)[1]]);
    expect(fromLate.at(-1)?.level).toBe(1);
    expect(fromRun.at(-1)?.level).toBe(1);
    call('c').resolve([{ k: 'c' }]);
    await run.result;
    expect(unannounced(late)).toEqual([]);
    expect(fromLate.at(-1)).toMatchObject({ level: fromRun.at(-1)!.level, done: true, percent: 100 });
  });

  it('gets nothing once the run has ended', async () => {
    const { run } = start();
    await until(() => db.calls.some((c) => c.key === 'c'), 'c called');
    call('slow').resolve([{ k: 'slow' }]);
    call('c').resolve([{ k: 'c' }]);
    await run.result;
    const late: ExecutionEvent[] = [];
    let completed = false;
    run.events$.subscribe({ next: (e) => late.push(e), complete: () => (completed = true) });
    expect(late).toEqual([]);
    expect(completed).toBe(true);
  });
});
