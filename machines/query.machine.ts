import type { Observable } from 'rxjs';
import { assign, enqueueActions, fromEventObservable, fromPromise, setup } from 'xstate';
import { downstream, initialScheduling, levelFinished, markFinished, releaseDependents, takeReady, type Scheduling } from '../src/execution/scheduling.js';
import type { ValidatedPlan } from '../src/plan/index.js';
import type { ExecutionEvent, FragmentEvent } from '../src/progress/events.js';

/** A fragment's status as the machine tracks it: metadata only, never rows. */
export interface FragmentStatus {
  source: string;
  level: number;
  dependsOn: string[];
  status: 'pending' | 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped';
  attempts: number;
  calls: number;
  cached: boolean;
  rowCount: number;
  startedAt?: number;
  durationMs?: number;
  error?: { code: string; message: string };
}

export interface QueryContext {
  queryId: string;
  errorPolicy: 'fail-fast' | 'partial';
  schedule: 'levels' | 'eager';
  /** The level whose state the machine is in; -1 before the first. */
  level: number;
  fragments: Record<string, FragmentStatus>;
  /** Dependency counts, ready fragments and open fragments per level (see scheduling.ts). */
  scheduling: Scheduling;
  /** Why the query failed, as plain data (the error object lives outside the snapshot). */
  failure?: { code: string; message: string; fragmentId?: string };
  rowCount?: number;
}

export type QueryMachineEvent =
  | FragmentEvent
  | { type: 'query.start' }
  | { type: 'query.cancel'; reason?: string };

/** What the machine needs from the outside; supplied by the executor (or a test). */
export interface QueryMachineDeps {
  /** The fragment's pipeline as a stream of its events (stamped with queryId and `at`). */
  runFragment(fragmentId: string): Observable<FragmentEvent>;
  /** Merges the stored fragment results; resolves with the merged row count. */
  merge(): Promise<number>;
  /** Forwards an event to the run's `events$`. */
  emit(event: ExecutionEvent): void;
  /** Milliseconds since the query started. */
  now(): number;
  /** Most fragment actors alive at once (see `takeReady`); default 256. */
  maxActiveFragments?: number;
}

/**
 * The per-query statechart, generated from the plan's levels so the inspector shows one
 * state per level: `planned` → `executing-level-0` … `executing-level-N` → `merging` →
 * `done` | `failed`. Each fragment runs as a child actor (id = fragment id) spawned when it
 * may start: with `schedule: "levels"` when its level's state is entered, with `"eager"`
 * as soon as its own dependencies have succeeded (the state then names the lowest level
 * still running). Reaching `failed` stops every child, which aborts their source calls.
 */
export function createQueryMachine(plan: ValidatedPlan, deps: QueryMachineDeps) {
  const lastLevel = plan.levels.length - 1;
  const levelState = (level: number): string => `executing-level-${level}`;
  const stamp = <T extends { type: string }>(event: T) => ({ ...event, queryId: plan.id, at: deps.now() }) as unknown as ExecutionEvent;

  const initialFragments = (): Record<string, FragmentStatus> => {
    const out = Object.create(null) as Record<string, FragmentStatus>;
    for (const f of plan.fragments) {
      out[f.id] = {
        source: f.source,
        level: plan.levelOf.get(f.id)!,
        dependsOn: [...new Set(f.dependsOn ?? [])],
        status: 'pending',
        attempts: 0,
        calls: 0,
        cached: false,
        rowCount: 0,
      };
    }
    return out;
  };

  const machineSetup = setup({
    types: {} as { context: QueryContext; events: QueryMachineEvent },
    actors: {
      fragment: fromEventObservable<FragmentEvent, { fragmentId: string }>(({ input }) => deps.runFragment(input.fragmentId)),
      merge: fromPromise<number>(() => deps.merge()),
    },
    actions: {
      forward: ({ event }) => {
        if ('fragmentId' in event) deps.emit(event as ExecutionEvent);
      },
      startReadyFragments: enqueueActions(({ context, enqueue }) => {
        const ready = takeReady(context.scheduling, context.schedule, context.level, deps.maxActiveFragments ?? 256);
        for (const id of ready) {
          // In place: one status per event, not a copy of every fragment's (see scheduling.ts).
          context.fragments[id] = { ...context.fragments[id]!, status: 'queued' };
          enqueue.spawnChild('fragment', { id, input: { fragmentId: id } });
        }
      }),
      record: assign({
        fragments: ({ context, event }) => {
          if (!('fragmentId' in event)) return context.fragments;
          const id = event.fragmentId;
          const current = context.fragments[id];
          if (!current) return context.fragments;
          // Updated in place: a copy of the whole record per event made big plans quadratic.
          switch (event.type) {
            case 'fragment.started':
              context.fragments[id] = { ...current, status: 'running', attempts: Math.max(current.attempts, event.attempt), startedAt: current.startedAt ?? event.at };
              break;
            case 'fragment.succeeded':
              context.fragments[id] = {
                ...current,
                status: 'succeeded',
                attempts: event.attempts,
                calls: event.calls,
                cached: event.cached,
                rowCount: event.rowCount,
                startedAt: event.startedAt,
                durationMs: event.durationMs,
              };
              markFinished(context.scheduling, id, current.level);
              releaseDependents(context.scheduling, plan, id);
              break;
            case 'fragment.failed':
              context.fragments[id] = {
                ...current,
                status: 'failed',
                attempts: event.attempts,
                startedAt: event.startedAt,
                durationMs: event.durationMs,
                error: { code: event.error.code, message: event.error.message },
              };
              markFinished(context.scheduling, id, current.level);
              break;
            default:
              break;
          }
          return context.fragments;
        },
      }),
      skipDownstream: enqueueActions(({ context, event }) => {
        if (event.type !== 'fragment.failed') return;
        for (const id of downstream(plan, event.fragmentId)) {
          const f = context.fragments[id]!;
          if (f.status !== 'pending') continue;
          context.fragments[id] = { ...f, status: 'skipped' };
          markFinished(context.scheduling, id, f.level, false);
          deps.emit(stamp({ type: 'fragment.skipped', fragmentId: id, source: f.source, level: f.level, because: event.fragmentId }));
        }
      }),
      // A finished fragment's actor is stopped at once: XState copies the children map on
      // every spawn and stop, so keeping finished children would make big plans quadratic.
      releaseFragment: enqueueActions(({ event, enqueue }) => {
        if ('fragmentId' in event) enqueue.stopChild(event.fragmentId);
      }),
      failFromFragment: assign({
        failure: ({ event }) =>
          event.type === 'fragment.failed'
            ? { code: event.error.code, message: event.error.message, fragmentId: event.fragmentId }
            : undefined,
      }),
      // Named (not inline): the inspector shows the machine's definition with action names.
      announceMerge: () => deps.emit(stamp({ type: 'merge.started' })),
      failFromCancel: assign({
        failure: ({ event }) => ({ code: 'CANCELLED', message: event.type === 'query.cancel' && event.reason ? event.reason : 'the query was cancelled' }),
      }),
    },
    guards: {
      failFast: ({ context }) => context.errorPolicy === 'fail-fast',
      levelFinished: ({ context }, params: { level: number }) => levelFinished(context.scheduling, params.level),
    },
  });

  const levelStates: Record<string, object> = {};
  for (let level = 0; level <= lastLevel; level++) {
    levelStates[levelState(level)] = {
      entry: [
        assign({ level }),
        // A named function: the inspector shows an inline action by its function's name.
        function announceLevel() {
          deps.emit(stamp({ type: 'level.started', level }));
        },
        'startReadyFragments',
      ],
      always: [{ guard: { type: 'levelFinished', params: { level } }, target: level === lastLevel ? 'merging' : levelState(level + 1) }],
    };
  }

  return machineSetup.createMachine({
    id: 'query',
    // A factory: each actor gets its own book-keeping, which it updates in place.
    context: () => ({
      queryId: plan.id,
      errorPolicy: plan.errorPolicy,
      schedule: plan.schedule,
      level: -1,
      fragments: initialFragments(),
      scheduling: initialScheduling(plan),
    }),
    initial: 'planned',
    on: {
      'fragment.queued': { actions: 'forward' },
      'fragment.started': { actions: ['record', 'forward'] },
      'fragment.attempt.failed': { actions: 'forward' },
      'fragment.retrying': { actions: 'forward' },
      'fragment.cached': { actions: 'forward' },
      'fragment.remote': { actions: 'forward' },
      'source.circuit.opened': { actions: 'forward' },
      'source.circuit.closed': { actions: 'forward' },
      'cache.unavailable': { actions: 'forward' },
      'fragment.succeeded': { actions: ['record', 'forward', 'releaseFragment', 'startReadyFragments'] },
      'fragment.failed': [
        { guard: 'failFast', target: '.failed', actions: ['record', 'forward', 'failFromFragment'] },
        { actions: ['record', 'forward', 'releaseFragment', 'skipDownstream', 'startReadyFragments'] },
      ],
      'query.cancel': { target: '.failed', actions: 'failFromCancel' },
    },
    states: {
      planned: {
        on: { 'query.start': { target: levelState(0) } },
      },
      ...(levelStates as Record<string, object>),
      merging: {
        entry: 'announceMerge',
        invoke: {
          id: 'merge',
          src: 'merge',
          onDone: { target: 'done', actions: assign({ rowCount: ({ event }) => event.output }) },
          onError: {
            target: 'failed',
            actions: assign({
              failure: ({ event }) => ({
                code: (event.error as { code?: string })?.code ?? 'MERGE_FAILED',
                message: event.error instanceof Error ? event.error.message : String(event.error),
              }),
            }),
          },
        },
      },
      done: { type: 'final' },
      failed: { type: 'final' },
    },
  } as any);
}

export type QueryMachine = ReturnType<typeof createQueryMachine>;
