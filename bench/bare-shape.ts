import { mergeMap, Subject } from 'rxjs';
import { createActor, enqueueActions, fromCallback, setup } from 'xstate';
import type { Row } from '../src/index.js';

/**
 * The bare shape DESIGN.md prescribes, with nothing of tributary in it: a machine built once
 * per level count and driven by `input`, one `fromCallback` child actor per source running
 * its fragments through an RxJS `mergeMap` lane, one `assign` per settle event, immutable
 * context, a `merging` state whose merge runs on the next microtask. No validation, cache
 * keys, events, progress, limits, retries, timeouts, deadlines or result bookkeeping.
 *
 * The bench runs the same work through it as through tributary and by hand, so a row can
 * say what the shape itself costs on this machine, in the same run: where the bare shape is
 * already over a target, no tuning of tributary's own code can meet it.
 */

export interface BareFragment {
  source: string;
  /** The source call; `rowsOf(i)` reads an upstream fragment's rows (bound parameters). */
  call: (rowsOf: (index: number) => Row[]) => Promise<Row[]>;
}

export interface BareRun {
  fragments: readonly BareFragment[];
  /** Fragment indices level by level. */
  levels: readonly (readonly number[])[];
  /** Rows already known for a fragment (a cache hit): settled at dispatch, no source actor. */
  cached?: (index: number) => Row[] | undefined;
  merge: (rowsOf: (index: number) => Row[]) => Row[];
  /** The source lanes' concurrency. */
  concurrency?: number;
}

interface Port {
  run: BareRun;
  rows: Row[][];
  out: Row[];
  spawned: Set<string>;
}

/** Immutable: a new object on every change. `sizes`: fragments per level. */
interface BareContext {
  level: number;
  sizes: readonly number[];
  settled: readonly number[];
}

type Settled = { type: 'settled'; index: number };
type BareEvent = Settled | { type: 'start' } | { type: 'merged' };

const PORT = Symbol('bare.port');
type Carrier = { [PORT]?: Port | undefined };
const portOf = (system: object): Port => (system as Carrier)[PORT]!;

const sourceActor = fromCallback<{ type: 'run'; fragments: readonly number[] }, { source: string }>(({ system, receive, sendBack }) => {
  const port = portOf(system);
  const rowsOf = (i: number): Row[] => port.rows[i]!;
  const lane = new Subject<number>();
  const sub = lane
    .pipe(
      mergeMap(
        (index) =>
          port.run.fragments[index]!.call(rowsOf).then((rows) => {
            port.rows[index] = rows;
            return index;
          }),
        port.run.concurrency ?? 16,
      ),
    )
    .subscribe((index) => sendBack({ type: 'settled', index } satisfies Settled));
  receive((event) => {
    for (const index of event.fragments) lane.next(index);
  });
  return () => sub.unsubscribe();
});

const bare = setup({
  types: {} as { context: BareContext; events: BareEvent; input: { levels: readonly (readonly number[])[] } },
  actors: { source: sourceActor },
  actions: {
    dispatch: enqueueActions(({ enqueue, system }, params: { level: number }) => {
      const port = portOf(system);
      const bySource = new Map<string, number[]>();
      for (const index of port.run.levels[params.level]!) {
        const hit = port.run.cached?.(index);
        if (hit) {
          port.rows[index] = hit;
          enqueue.raise({ type: 'settled', index });
          continue;
        }
        const source = port.run.fragments[index]!.source;
        const list = bySource.get(source);
        if (list) list.push(index);
        else bySource.set(source, [index]);
      }
      for (const [source, fragments] of bySource) {
        if (!port.spawned.has(source)) {
          port.spawned.add(source);
          enqueue.spawnChild('source', { id: source, input: { source } });
        }
        enqueue.sendTo(source, { type: 'run', fragments });
      }
      enqueue.assign({ level: params.level });
    }),
  },
});

/** Each fragment's level, worked out once per `BareRun` (a run object is reused across runs). */
const levelTables = new WeakMap<BareRun, number[]>();
function levelOf(port: Port, index: number): number {
  let table = levelTables.get(port.run);
  if (!table) {
    table = [];
    port.run.levels.forEach((level, l) => level.forEach((i) => (table![i] = l)));
    levelTables.set(port.run, table);
  }
  return table[index]!;
}

function buildMachine(levelCount: number) {
  const states: Record<string, object> = {};
  for (let level = 0; level < levelCount; level++) {
    states[`executing-level-${level}`] = {
      entry: { type: 'dispatch', params: { level } },
      always: {
        guard: ({ context }: { context: BareContext }) => context.settled[level]! >= context.sizes[level]!,
        target: level === levelCount - 1 ? 'merging' : `executing-level-${level + 1}`,
      },
    };
  }
  return bare.createMachine({
    context: ({ input }) => {
      const sizes = input.levels.map((l) => l.length);
      return { level: -1, sizes, settled: sizes.map(() => 0) };
    },
    initial: 'planned',
    on: {
      settled: {
        actions: bare.assign(({ context, event, system }) => {
          if (event.type !== 'settled') return {};
          const level = levelOf(portOf(system), event.index);
          const settled = context.settled.slice();
          settled[level]!++;
          return { settled };
        }),
      },
    },
    states: {
      planned: { on: { start: 'executing-level-0' } },
      ...states,
      merging: {
        entry: ({ self, system }) =>
          queueMicrotask(() => {
            const port = portOf(system);
            port.out = port.run.merge((i) => port.rows[i]!);
            self.send({ type: 'merged' });
          }),
        on: { merged: 'done' },
      },
      done: { type: 'final' },
    },
  });
}

const machines = new Map<number, ReturnType<typeof buildMachine>>();

/** Runs `run` through the bare shape; resolves with the merged rows. */
export function runBare(run: BareRun): Promise<Row[]> {
  let machine = machines.get(run.levels.length);
  if (!machine) machines.set(run.levels.length, (machine = buildMachine(run.levels.length)));
  const port: Port = { run, rows: [], out: [], spawned: new Set() };
  const actor = createActor(machine, { input: { levels: run.levels } });
  // The run is bound to the actor's system while it runs, and unbound when it ends, so that
  // what XState keeps of a finished actor does not keep the run (as tributary does).
  const system = actor.system as Carrier;
  system[PORT] = port;
  return new Promise((resolve) => {
    actor.subscribe({
      complete: () => {
        system[PORT] = undefined;
        resolve(port.out);
      },
    });
    actor.start();
    actor.send({ type: 'start' });
  });
}

/**
 * A layered plan (plans.ts) as a bare run: one source, each fragment one `call(query)`, the
 * merge a concatenation of the last level's rows (the plans' union).
 */
export function bareLayered(levels: readonly { query: unknown }[][], source: string, call: (query: unknown) => Promise<Row[]>, concurrency = 16): BareRun {
  const fragments: BareFragment[] = [];
  const indices: number[][] = [];
  for (const level of levels) indices.push(level.map((f) => fragments.push({ source, call: () => call(f.query) }) - 1));
  const last = indices[indices.length - 1]!;
  return { fragments, levels: indices, concurrency, merge: (rowsOf) => last.flatMap((i) => rowsOf(i)) };
}
