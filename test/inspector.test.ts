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

  it('receives the query actor, its states per level in order, and one child actor per fragment named by its id', async () => {
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

    const children = actors().filter((a) => a.parentId === query.sessionId);
    expect(children.map((c) => c.name).sort()).toEqual(['alpha', 'beta', 'gamma', 'merge']);

    // Each fragment actor tells the query what happened, under the event's own name.
    for (const child of children.filter((c) => c.name !== 'merge')) {
      const sent = received().filter((e) => e.type === '@xstate.event' && e.sourceId === child.sessionId && e.sessionId === query.sessionId);
      expect(sent.map((e) => (e as { event: { type: string } }).event.type)).toEqual(
        expect.arrayContaining(['fragment.queued', 'fragment.started', 'fragment.succeeded']),
      );
    }
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
});
