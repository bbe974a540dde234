import { assign, enqueueActions, setup } from 'xstate';
import type { SettleEvent, SourceCounts } from '../src/run/port.js';
import type { FragmentCounts } from '../src/run/status-table.js';
import { shapeCache } from './shape-cache.js';
import { afterSettle, counted, emptySources, withSource } from './source-counts.js';
import { boundPortOf, portOf } from '../src/run/port-slot.js';
import { sourceActor } from './source.machine.js';

/**
 * The query actor's context: plain, immutable data — a new object on every change, never
 * updated in place — so every snapshot stays what it was when it was emitted. Statuses and
 * counts only: each fragment's own state lives in the run's status table, rows outside.
 */
export interface QueryContext {
  queryId: string;
  errorPolicy: 'fail-fast' | 'partial';
  schedule: 'levels' | 'eager';
  /** The level whose state the machine is in; -1 before the first. */
  level: number;
  /** The lowest level with an unfinished fragment. */
  lowestOpenLevel: number;
  /** Fragments by state, over the whole plan. */
  counts: FragmentCounts;
  /** Per source actor (bounded by the sources the plan uses). */
  sources: Readonly<Record<string, SourceCounts>>;
  /** Why the query failed, as plain data (the error object lives outside the snapshot). */
  failure?: { code: string; message: string; fragmentId?: string };
  rowCount?: number;
}

export type QueryMachineEvent =
  | SettleEvent
  | { type: 'query.start' }
  | { type: 'query.cancel'; reason?: string }
  /** The run ended before it started (an asynchronous `authorize` refused it, or it was cancelled while asking): nothing ran. */
  | { type: 'query.refused'; code: string; message: string }
  /** The query's deadline passed; the run has stopped what was unfinished. `fail`: a required fragment under fail-fast. */
  | { type: 'query.deadline'; fail: boolean; message: string }
  | { type: 'merge.done'; rowCount: number }
  | { type: 'merge.failed'; code: string; message: string };

/**
 * A query actor's input: what its first snapshot shows of the run, as plain data. The run
 * itself (its port) is bound to the actor's system after the actor is created and unbound
 * when the run ends, so nothing XState keeps (input, context, snapshots) holds it.
 */
export interface QueryMachineInput {
  queryId: string;
  errorPolicy: 'fail-fast' | 'partial';
  schedule: 'levels' | 'eager';
  /** The fragment counts before anything ran. */
  counts: FragmentCounts;
  /** The sources the plan uses (one child actor each, spawned on demand). */
  sources: readonly string[];
}

const levelState = (level: number) => `executing-level-${level}` as const;

/** Sends the merge's outcome, unless a cancel or a deadline ended the query while a streamed merge was draining. */
function sendIfActive(self: { getSnapshot(): { status: string }; send(event: QueryMachineEvent): void }, outcome: QueryMachineEvent): void {
  if (self.getSnapshot().status === 'active') self.send(outcome);
}

function mergeFailed(error: unknown): QueryMachineEvent {
  const code = (error as { code?: unknown })?.code;
  return { type: 'merge.failed', code: typeof code === 'string' ? code : 'MERGE_FAILED', message: error instanceof Error ? error.message : String(error) };
}

const querySetup = setup({
  types: {} as { context: QueryContext; events: QueryMachineEvent; input: QueryMachineInput },
  actors: { source: sourceActor },
  actions: {
    /**
     * Sends every fragment that may start now to its source actor, one event per source,
     * spawning the actor the first time its source is needed (one child actor per source
     * executor, named by the source). Fragments the in-process cache answers (or a resumed
     * run's store) settle here, in this step, without an event of their own (their
     * `fragment.cached` progress events go to `events$`); under `eager`, what they make ready
     * is taken too. On a level's entry (`params.level`) it announces the level, unless the
     * event of one of its fragments did first (under `eager`, taken while the state named a
     * lower level): `level.started` always comes before the level's fragments' events. One
     * assign: one context copy per dispatch.
     */
    dispatch: enqueueActions(({ context, enqueue, system }, params: { level: number } | undefined) => {
      const port = portOf(system);
      const level = params?.level ?? context.level;
      if (level !== context.level) port.levelStarted(level);
      let ready = port.takeReady(level);
      if (!ready) {
        if (level !== context.level) enqueue.assign({ level });
        return;
      }
      let sources = context.sources;
      while (ready) {
        const send = ready.send;
        if (send) {
          for (let s = 0; s < send.length; s++) {
            const fragments = send[s];
            if (!fragments) continue;
            const name = port.sources[s]!;
            if (port.needsActor(name)) enqueue.spawnChild('source', { id: name, input: { source: name } });
            // `#_<id>` names a child for any id: a bare id that is itself `#_parent`,
            // `#_internal` or `#_…` would be read as one of XState's special targets.
            enqueue.sendTo(`#_${name}`, { type: 'fragments.ready', fragments });
            const current = sources[name]!;
            sources = withSource(sources, name, { ...current, sent: current.sent + fragments.length });
          }
        }
        if (!ready.cached) break;
        for (const event of ready.cached) {
          port.settled(event);
          sources = afterSettle(sources, event);
        }
        ready = context.schedule === 'eager' ? port.takeReady(level) : undefined;
      }
      enqueue.assign({ level, counts: port.counts(), lowestOpenLevel: port.lowestOpenLevel(), sources });
    }),
    /** Under `partial`, a failure skips everything downstream of it. */
    skipDownstream: ({ event, system }) => {
      if (event.type !== 'fragment.failed' && event.type !== 'fragment.dropped') return;
      const port = portOf(system);
      if (port.due(event)) port.skipDownstream(event);
    },
    /** After the deadline: what the run finished (dropped, failed, skipped) shows in the counts, its failures in their sources' too. */
    afterDeadline: assign(({ context, system }) => {
      const port = portOf(system);
      let sources = context.sources;
      for (const event of port.takeDeadlineSettled()) sources = afterSettle(sources, event);
      return { counts: port.counts(), lowestOpenLevel: port.lowestOpenLevel(), sources };
    }),
    failFromDeadline: assign(({ event }) => (event.type === 'query.deadline' ? { failure: { code: 'TIMEOUT', message: event.message } } : {})),
    /**
     * A fragment settled: the run counts it as finished (a success releases its dependents)
     * and the context takes the new counts. One action, not a side-effect action and an
     * assign: this runs once per fragment. The run's book-keeping is idempotent per fragment,
     * and the machine is only ever driven by its actor (no pure `transition()` replays).
     */
    settle: assign(({ context, event, system }) => {
      if (event.type !== 'fragment.succeeded' && event.type !== 'fragment.failed' && event.type !== 'fragment.dropped') return {};
      const port = portOf(system);
      // A settle the run did not record (sent from outside with `run.actor.send()`, for a
      // fragment still running or unknown) changes nothing: it would release dependents early.
      if (!port.due(event)) return {};
      port.settled(event);
      return { counts: port.counts(), lowestOpenLevel: port.lowestOpenLevel(), sources: afterSettle(context.sources, event) };
    }),
    failFromFragment: assign(({ event }) =>
      event.type === 'fragment.failed' ? { failure: { code: event.error.code, message: event.error.message, fragmentId: event.fragmentId } } : {},
    ),
    failFromCancel: assign(({ event }) => ({
      failure: { code: 'CANCELLED', message: event.type === 'query.cancel' && event.reason ? event.reason : 'the query was cancelled' },
    })),
    failFromRefusal: assign(({ event }) => (event.type === 'query.refused' ? { failure: { code: event.code, message: event.message } } : {})),
    failFromMerge: assign(({ event }) => (event.type === 'merge.failed' ? { failure: { code: event.code, message: event.message } } : {})),
    /**
     * Entering `failed`: the source actors stop with it, so nothing is queued or running any
     * more; a fragment whose event the query never took (it ended first) is counted as
     * `events$` reported it; what can no longer run because a fragment it depends on did not
     * succeed is skipped (as `result.fragments` reports it). A run refused before it started has no port
     * bound and nothing to count.
     */
    stopCounts: assign(({ context, system }) => {
      const port = boundPortOf(system);
      if (!port) return context.counts.queued === 0 && context.counts.running === 0 ? {} : { counts: { ...context.counts, queued: 0, running: 0 } };
      let sources = context.sources;
      for (const late of port.stopped()) sources = counted(sources, late);
      return { counts: { ...port.counts(), queued: 0, running: 0 }, lowestOpenLevel: port.lowestOpenLevel(), sources };
    }),
    setRowCount: assign(({ event }) => (event.type === 'merge.done' ? { rowCount: event.rowCount } : {})),
    /**
     * Merges on the next microtask (the merge tree is in-process work, no actor needed),
     * so the `merging` snapshot is emitted first, then sends the outcome to the actor (a
     * streamed run's merge may first wait for the rows still on their way to the reader).
     */
    merge: ({ self, system }) => {
      const port = portOf(system);
      port.mergeStarted();
      // No named closure per run here: helpers at module level (a run of a plan served from the cache is short).
      queueMicrotask(() => {
        if (self.getSnapshot().status !== 'active') return;
        let merged: number | Promise<number>;
        try {
          merged = port.merge();
        } catch (error) {
          sendIfActive(self, mergeFailed(error));
          return;
        }
        if (typeof merged === 'number') sendIfActive(self, { type: 'merge.done', rowCount: merged });
        else merged.then((rowCount) => sendIfActive(self, { type: 'merge.done', rowCount }), (error: unknown) => sendIfActive(self, mergeFailed(error)));
      });
    },
  },
  guards: {
    failFast: ({ context }) => context.errorPolicy === 'fail-fast',
    eager: ({ context }) => context.schedule === 'eager',
    deadlineFails: ({ event }) => event.type === 'query.deadline' && event.fail,
    levelFinished: ({ context }, params: { level: number }) => context.lowestOpenLevel > params.level,
  },
});

/** The states of one level: announce it, send its ready fragments, leave when it is finished. */
function levelStateConfig(level: number, last: number) {
  return {
    entry: { type: 'dispatch', params: { level } },
    always: { guard: { type: 'levelFinished', params: { level } }, target: level === last ? 'merging' : levelState(level + 1) },
  } as const;
}

function buildQueryMachine(levelCount: number) {
  const last = levelCount - 1;
  const levels: Record<string, ReturnType<typeof levelStateConfig>> = {};
  for (let level = 0; level <= last; level++) levels[levelState(level)] = levelStateConfig(level, last);
  return querySetup.createMachine({
    id: 'query',
    context: ({ input }) => ({
      queryId: input.queryId,
      errorPolicy: input.errorPolicy,
      schedule: input.schedule,
      level: -1,
      lowestOpenLevel: 0,
      counts: input.counts,
      sources: emptySources(input.sources),
    }),
    initial: 'planned',
    on: {
      'fragment.succeeded': [{ guard: 'eager', actions: ['settle', 'dispatch'] }, { actions: 'settle' }],
      'fragment.failed': [
        { guard: 'failFast', target: '.failed', actions: ['settle', 'failFromFragment'] },
        { actions: ['skipDownstream', 'settle'] },
      ],
      'fragment.dropped': { actions: ['skipDownstream', 'settle'] },
      'query.cancel': { target: '.failed', actions: 'failFromCancel' },
      'query.deadline': [{ guard: 'deadlineFails', target: '.failed', actions: ['afterDeadline', 'failFromDeadline'] }, { actions: 'afterDeadline' }],
    },
    states: {
      planned: {
        on: { 'query.start': { target: levelState(0) }, 'query.refused': { target: 'failed', actions: 'failFromRefusal' } },
      },
      ...levels,
      merging: {
        entry: 'merge',
        on: {
          'merge.done': { target: 'done', actions: 'setRowCount' },
          'merge.failed': { target: 'failed', actions: 'failFromMerge' },
        },
      },
      done: { type: 'final' },
      failed: { type: 'final', entry: 'stopCounts' },
    },
  });
}

export type QueryMachine = ReturnType<typeof buildQueryMachine>;

/**
 * The query statechart for plans of `levelCount` levels, built once per level count and
 * shared by every run: `planned` → `executing-level-0` … `executing-level-N` → `merging` →
 * `done` | `failed`, so the inspector shows one state per level. A run comes in through
 * `input` (plain data) and a port bound to the actor's system while it runs. It spawns one
 * child actor per source the plan uses (id = the source's name) when that source first has
 * a fragment to run; each level's entry sends that level's ready fragments to their source
 * actors (`schedule: "eager"`: every success sends what it made ready, and the state names
 * the lowest level still running). Each source actor answers with one settle event per
 * fragment; a fragment the in-process cache answers settles in the step that dispatched it.
 * Reaching `failed` stops the source actors, which aborts their calls. The cache of
 * definitions is bounded (`shapeCache`); `levelCount` must be a whole number ≥ 1 (else PLAN_INVALID).
 */
export const queryMachineFor: (levelCount: number) => QueryMachine = shapeCache(buildQueryMachine);
