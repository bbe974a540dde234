import { createWebSocketInspector, type StatelyActorEvent, type StatelyInspectionEvent, type StatelySnapshotEvent } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startInspectorRelay, type InspectorRelay } from '../examples/inspector-relay.js';
import { createExecutor, memorySource, type Executor } from '../src/index.js';
import { until } from './support/engine.js';

/** `@statelyai/inspect` over a real WebSocket server on loopback (the example's relay). */
describe('Stately inspector', () => {
  let relay: InspectorRelay | undefined;
  let inspector: ReturnType<typeof createWebSocketInspector> | undefined;
  let executor: Executor | undefined;
  let viewer: WebSocket | undefined;

  afterEach(async () => {
    viewer?.close();
    inspector?.stop();
    await executor?.close();
    await relay?.close();
    relay = inspector = executor = viewer = undefined;
  });

  const valueOf = (s: StatelySnapshotEvent): unknown => (s.snapshot as { value?: unknown }).value;
  const received = (): StatelyInspectionEvent[] => relay!.messages().map((m) => JSON.parse(m) as StatelyInspectionEvent);

  it('receives the query actor, its states per level in order, one child actor per source named by it, and each fragment\'s settle event', async () => {
    relay = await startInspectorRelay();
    expect(relay.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    inspector = createWebSocketInspector({ url: relay.wsUrl });
    await relay.firstConnection;

    executor = createExecutor({
      sources: { mem: memorySource({ tables: { a: [{ k: 1 }, { k: 2 }], b: [{ k: 1, v: 'x' }, { k: 2, v: 'y' }], c: [{ v: 'x', w: true }] } }) },
      inspect: inspector.inspect,
      cache: false,
    });
    const result = await executor.execute({
      id: 'inspected',
      fragments: [
        { id: 'alpha', source: 'mem', query: { table: 'a' } },
        { id: 'beta', source: 'mem', dependsOn: ['alpha'], query: { table: 'b', where: { in: ['k', { $from: 'alpha', column: 'k' }] } } },
        { id: 'gamma', source: 'mem', dependsOn: ['beta'], query: { table: 'c', where: { in: ['v', { $from: 'beta', column: 'v' }] } } },
      ],
      merge: { op: 'join', type: 'inner', left: 'beta', right: 'gamma', on: [['v', 'v']] },
    });
    expect(result.status).toBe('ok');

    // The inspector sends on timers after each event: wait (bounded) for the final snapshot.
    const actors = (): StatelyActorEvent[] => received().filter((e): e is StatelyActorEvent => e.type === '@xstate.actor');
    const queryActor = (): StatelyActorEvent | undefined => actors().find((a) => a.parentId === undefined);
    const snapshotsOf = (sessionId: string): StatelySnapshotEvent[] =>
      received().filter((e): e is StatelySnapshotEvent => e.type === '@xstate.snapshot' && e.sessionId === sessionId);
    await until(() => queryActor() !== undefined && snapshotsOf(queryActor()!.sessionId).some((s) => valueOf(s) === 'done'), 'the final snapshot', 10_000);

    const query = queryActor()!;
    expect(actors().filter((a) => a.parentId === undefined)).toHaveLength(1);
    expect(query.name).toBe('inspected');
    expect(JSON.parse(query.definition!)).toMatchObject({ id: 'query', initial: 'planned' });

    const values = snapshotsOf(query.sessionId).map(valueOf);
    expect(values.filter((v, i) => i === 0 || v !== values[i - 1])).toEqual(['planned', 'executing-level-0', 'executing-level-1', 'executing-level-2', 'merging', 'done']);

    // One child actor per source executor the plan uses, named by the source.
    const children = actors().filter((a) => a.parentId === query.sessionId);
    expect(children.map((c) => c.name)).toEqual(['mem']);
    const source = children[0]!;
    const between = (from: string, to: string) =>
      received()
        .filter((e) => e.type === '@xstate.event' && e.sourceId === from && e.sessionId === to)
        .map((e) => (e as { event: { type: string; fragmentId?: string; fragments?: number[] } }).event);
    // The query actor hands the source actor each level's fragments…
    expect(between(query.sessionId, source.sessionId).filter((e) => e.type !== 'xstate.init').map((e) => [e.type, e.fragments])).toEqual([
      ['fragments.ready', [0]],
      ['fragments.ready', [1]],
      ['fragments.ready', [2]],
    ]);
    // …and the source actor tells the query what happened to each, under the event's own name.
    expect(between(source.sessionId, query.sessionId).map((e) => `${e.type} ${e.fragmentId}`)).toEqual([
      'fragment.succeeded alpha',
      'fragment.succeeded beta',
      'fragment.succeeded gamma',
    ]);
    // Snapshots hold metadata, never rows.
    expect(JSON.stringify(snapshotsOf(query.sessionId))).not.toContain('"w":true');
  });

  it('passes the events on to a viewer that connects later, earliest first', async () => {
    relay = await startInspectorRelay();
    inspector = createWebSocketInspector({ url: relay.wsUrl });
    await relay.firstConnection;
    executor = createExecutor({ sources: { mem: memorySource({ tables: { a: [{ k: 1 }] } }) }, inspect: inspector.inspect, cache: false });
    await executor.execute({ id: 'replayed', fragments: [{ id: 'only', source: 'mem', query: { table: 'a' } }] });
    await until(() => received().some((e) => e.type === '@xstate.snapshot' && (e.snapshot as { value?: unknown }).value === 'done'), 'the final snapshot', 10_000);

    const kept = [...relay.messages()];
    const seen: string[] = [];
    viewer = new WebSocket(relay.wsUrl);
    viewer.on('message', (data) => seen.push(String(data)));
    await until(() => seen.length >= kept.length, 'the replay', 10_000);
    expect(seen.slice(0, kept.length)).toEqual(kept);

    const page = await fetch(relay.pageUrl);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain(relay.wsUrl);
    expect(html).toContain('https://stately.ai/inspect');
  });

  it('lets only the app and its own page connect: another site (Origin) or a rebound name (Host) is refused', async () => {
    relay = await startInspectorRelay();
    const port = new URL(relay.wsUrl).port;
    const outcome = (options: ConstructorParameters<typeof WebSocket>[2]): Promise<string> =>
      new Promise((resolve) => {
        const socket = new WebSocket(relay!.wsUrl, options);
        socket.once('open', () => {
          socket.close();
          resolve('open');
        });
        socket.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
        socket.once('error', () => resolve('error'));
      });
    expect(await outcome({})).toBe('open');
    expect(await outcome({ origin: `http://127.0.0.1:${port}` })).toBe('open');
    expect(await outcome({ origin: `http://localhost:${port}` })).toBe('open');
    expect(await outcome({ origin: 'https://evil.example' })).toBe('refused 401');
    expect(await outcome({ headers: { host: `evil.example:${port}` } })).toBe('refused 401');
    expect((await fetch(relay.pageUrl)).status).toBe(200);
    const rebound = await new Promise<number>((resolve, reject) => {
      void import('node:http').then(({ get }) =>
        get({ host: '127.0.0.1', port: Number(port), path: '/', headers: { host: `evil.example:${port}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject),
      );
    });
    expect(rebound).toBe(403);
    // A refused client neither read nor injected anything.
    expect(relay.messages()).toEqual([]);
  });
});

describe('an inspector that throws', () => {
  it('costs its own view, never a query: every run finishes, and one process warning says so', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    let calls = 0;
    const executor = createExecutor({
      sources: { m: memorySource({ tables: { t: [{ id: 1 }] } }) },
      inspect: () => {
        calls++;
        throw new Error('inspector bug');
      },
    });
    const plan = { fragments: [{ id: 'a', source: 'm', query: { table: 't' } }, { id: 'b', source: 'm', dependsOn: ['a'], query: { table: 't' } }], merge: 'b' };
    try {
      for (let i = 0; i < 3; i++) expect((await executor.execute(plan)).rows).toEqual([{ id: 1 }]);
      // An observer object's `next` is guarded the same way.
      const observed = createExecutor({ sources: { m: memorySource({ tables: { t: [] } }) }, inspect: { next: () => { throw new Error('observer bug'); } } });
      expect((await observed.execute({ fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] })).status).toBe('ok');
      await observed.close();
      await until(() => warnings.length >= 2);
      expect(calls).toBeGreaterThan(10);
      expect(warnings.map((w) => (w as { code?: string }).code)).toEqual(['TRIBUTARY_INSPECT_FAILED', 'TRIBUTARY_INSPECT_FAILED']);
      expect(warnings[0]!.message).toContain('inspector bug');
      expect(warnings[1]!.message).toContain('observer bug');
    } finally {
      process.off('warning', onWarning);
      await executor.close();
    }
  });
});
