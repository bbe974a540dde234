import { Observable, Subject, type Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, type Executor } from '../../src/index.js';
import { createLane } from '../../src/execution/lanes.js';
import { flush, testSource, until } from '../support/engine.js';

/** A job whose subscription the test can see and whose completion it controls. */
function job(name: string, log: string[]): { work$: Observable<string>; done(): void; active(): boolean } {
  const subject = new Subject<string>();
  let active = false;
  const work$ = new Observable<string>((sub) => {
    active = true;
    log.push(`start ${name}`);
    const inner = subject.subscribe(sub);
    return () => {
      active = false;
      inner.unsubscribe();
    };
  });
  return {
    work$,
    done: () => {
      subject.next(name);
      subject.complete();
    },
    active: () => active,
  };
}

describe('createLane', () => {
  it('runs at most `limit` jobs at once and starts the rest in FIFO order', () => {
    const lane = createLane(2);
    const log: string[] = [];
    const jobs = ['a', 'b', 'c', 'd'].map((n) => job(n, log));
    const results: string[] = [];
    jobs.forEach((j) => lane.schedule(j.work$).subscribe((v) => results.push(v)));
    expect(log).toEqual(['start a', 'start b']);
    expect(lane.stats()).toEqual({ limit: 2, running: 2, queued: 2 });
    jobs[1]!.done();
    expect(log).toEqual(['start a', 'start b', 'start c']);
    jobs[0]!.done();
    expect(log).toEqual(['start a', 'start b', 'start c', 'start d']);
    jobs[2]!.done();
    jobs[3]!.done();
    expect(results).toEqual(['b', 'a', 'c', 'd']);
    expect(lane.stats()).toEqual({ limit: 2, running: 0, queued: 0 });
    lane.close();
  });

  it('stops a running job at once when it is unsubscribed and gives its slot back on the next microtask', async () => {
    const lane = createLane(1);
    const log: string[] = [];
    const a = job('a', log);
    const b = job('b', log);
    const subA: Subscription = lane.schedule(a.work$).subscribe();
    lane.schedule(b.work$).subscribe();
    expect(log).toEqual(['start a']);
    subA.unsubscribe();
    expect(a.active()).toBe(false);
    await flush();
    expect(log).toEqual(['start a', 'start b']);
    expect(lane.stats().running).toBe(1);
    lane.close();
  });

  it('never starts waiting jobs unsubscribed in the same sweep as the running one (a stopped query)', async () => {
    const lane = createLane(1);
    const log: string[] = [];
    const subs = ['a', 'b', 'c'].map((n) => lane.schedule(job(n, log).work$).subscribe());
    const other = job('other query', log);
    lane.schedule(other.work$).subscribe();
    for (const sub of subs) sub.unsubscribe();
    await flush();
    expect(log).toEqual(['start a', 'start other query']);
    expect(lane.stats()).toEqual({ limit: 1, running: 1, queued: 0 });
    lane.close();
  });

  it('never starts a job unsubscribed while it waits', () => {
    const lane = createLane(1);
    const log: string[] = [];
    const a = job('a', log);
    const b = job('b', log);
    const c = job('c', log);
    lane.schedule(a.work$).subscribe();
    const subB = lane.schedule(b.work$).subscribe();
    lane.schedule(c.work$).subscribe();
    subB.unsubscribe();
    a.done();
    expect(log).toEqual(['start a', 'start c']);
    lane.close();
  });

  it('frees the slot when a job errors, and passes the error on', () => {
    const lane = createLane(1);
    const errors: unknown[] = [];
    lane.schedule(new Observable<never>((s) => s.error(new Error('boom')))).subscribe({ error: (e: unknown) => errors.push(e) });
    const log: string[] = [];
    lane.schedule(job('next', log).work$).subscribe();
    expect((errors[0] as Error).message).toBe('boom');
    expect(log).toEqual(['start next']);
    lane.close();
  });

  it('is unbounded with limit Infinity', () => {
    const lane = createLane();
    const log: string[] = [];
    for (let i = 0; i < 50; i++) lane.schedule(job(String(i), log).work$).subscribe();
    expect(log).toHaveLength(50);
    lane.close();
  });
});

describe('executor concurrency limits', () => {
  let executor: Executor | undefined;
  afterEach(async () => {
    await executor?.close();
    executor = undefined;
  });

  it('caps running source calls at `concurrency` overall and at a source’s maxConcurrency', async () => {
    const narrow = testSource({ maxConcurrency: 2 });
    const wide = testSource();
    executor = createExecutor({ sources: { narrow: narrow.source, wide: wide.source }, concurrency: 3, cache: false });
    const fragments = Array.from({ length: 12 }, (_, i) => ({
      id: `f${i}`,
      source: i % 2 === 0 ? 'narrow' : 'wide',
      query: { key: `f${i}` },
    }));
    const run = executor.run({ fragments, merge: { op: 'union', inputs: fragments.map((f) => f.id) } });

    let maxOverall = 0;
    const all = () => [...narrow.calls, ...wide.calls];
    const unsettled = (calls: { settled: boolean }[], total: number) => total - calls.filter((c) => c.settled).length;
    // As many calls as the limits allow for the work left: the lanes must fill up to it.
    const fillable = () => Math.min(3, unsettled(wide.calls, 6) + Math.min(2, unsettled(narrow.calls, 6)));
    // Release one call at a time, always the oldest still running, until all 12 ran.
    while (fillable() > 0) {
      await until(() => narrow.inFlight() + wide.inFlight() === fillable(), 'the lanes to fill');
      // Give the lanes every chance to over-admit before measuring.
      await new Promise((resolve) => setTimeout(resolve, 2));
      maxOverall = Math.max(maxOverall, narrow.inFlight() + wide.inFlight());
      const oldest = all().find((c) => !c.settled)!;
      oldest.resolve([{ key: oldest.key }]);
    }

    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toHaveLength(12);
    expect(narrow.calls).toHaveLength(6);
    expect(wide.calls).toHaveLength(6);
    expect(maxOverall).toBe(3);
    expect(narrow.maxInFlight()).toBe(2);
    expect(wide.maxInFlight()).toBe(3);
    expect(executor.metrics().lanes.global).toEqual({ limit: 3, running: 0, queued: 0 });
  });

  it('gives the slots of a cancelled query to the next one', async () => {
    const src = testSource({ behaviour: (c) => (c.key.startsWith('hang') ? undefined : [{ k: c.key }]) });
    executor = createExecutor({ sources: { s: src.source }, concurrency: 2, cache: false });
    const blocker = executor.run({
      fragments: [
        { id: 'a', source: 's', query: { key: 'hang-a' } },
        { id: 'b', source: 's', query: { key: 'hang-b' } },
      ],
      merge: { op: 'union', inputs: ['a', 'b'] },
    });
    await src.waitForCalls(2);
    const waiting = executor.run({ fragments: [{ id: 'c', source: 's', query: { key: 'c' } }] });
    // It reached the global lane and waits there: no sleeping needed to know it did not start.
    await until(() => executor!.metrics().lanes.global.queued === 1, 'c to wait for a slot');
    expect(src.calls).toHaveLength(2);
    blocker.cancel();
    await expect(blocker.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect((await waiting.result).rows).toEqual([{ k: 'c' }]);
  });

  it('shares the global cap between queries', async () => {
    const src = testSource();
    executor = createExecutor({ sources: { s: src.source }, concurrency: 2, cache: false });
    const one = (id: string) => ({ id, fragments: [{ id: 'f', source: 's', query: { key: id } }] });
    const runs = ['q1', 'q2', 'q3'].map((id) => executor!.run(one(id)));
    await until(() => src.calls.length === 2, 'two calls');
    await until(() => executor!.metrics().lanes.global.queued === 1, 'q3 to wait for a slot');
    expect(src.calls.map((c) => c.key)).toEqual(['q1', 'q2']);
    src.calls[0]!.resolve([{ n: 1 }]);
    await until(() => src.calls.length === 3, 'the third call');
    src.calls[1]!.resolve([{ n: 2 }]);
    src.calls[2]!.resolve([{ n: 3 }]);
    const results = await Promise.all(runs.map((r) => r.result));
    expect(results.map((r) => r.rows)).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]]);
    expect(src.maxInFlight()).toBe(2);
  });
});
