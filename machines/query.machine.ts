import type { Observable } from 'rxjs';
import { assign, enqueueActions, fromEventObservable, fromPromise, setup } from 'xstate';
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
}

const TERMINAL = new Set<FragmentStatus['status']>(['succeeded', 'failed', 'skipped']);

/** True when every dependency of `id` has succeeded. */
function depsSucceeded(ctx: QueryContext, id: string): boolean {
  return ctx.fragments[id]!.dependsOn.every((dep) => ctx.fragments[dep]?.status === 'succeeded');
}

/** True when every fragment at or below `level` has finished. */
function levelFinished(ctx: QueryContext, level: number): boolean {
  return Object.values(ctx.fragments).every((f) => f.level > level || TERMINAL.has(f.status));
}

/** Every fragment downstream of `id`, transitively, that has not started. */
function downstreamOf(ctx: QueryContext, id: string): string[] {
  const out: string[] = [];
  const queue = [id];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const [other, f] of Object.entries(ctx.fragments)) {
      if (f.status === 'pending' && f.dependsOn.includes(current) && !out.includes(other)) {
        out.push(other);
        queue.push(other);
      }
    }
  }
  return out;
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

  const initialFragments: Record<string, FragmentStatus> = Object.create(null) as Record<string, FragmentStatus>;
  for (const f of plan.fragments) {
    initialFragments[f.id] = {
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
        const ready = Object.entries(context.fragments)
          .filter(([id, f]) => f.status === 'pending' && (context.schedule === 'eager' || f.level <= context.level) && depsSucceeded(context, id))
          .map(([id]) => id);
        if (ready.length === 0) return;
        enqueue.assign({
          fragments: ({ context: c }) => {
            const next = { ...c.fragments };
            for (const id of ready) next[id] = { ...next[id]!, status: 'queued' };
            return next;
          },
        });
        for (const id of ready) enqueue.spawnChild('fragment', { id, input: { fragmentId: id } });
      }),
      record: assign({
        fragments: ({ context, event }) => {
          if (!('fragmentId' in event)) return context.fragments;
          const current = context.fragments[event.fragmentId];
          if (!current) return context.fragments;
          const next = { ...context.fragments };
          switch (event.type) {
            case 'fragment.started':
              next[event.fragmentId] = { ...current, status: 'running', attempts: Math.max(current.attempts, event.attempt), startedAt: current.startedAt ?? event.at };
              break;
            case 'fragment.succeeded':
              next[event.fragmentId] = {
                ...current,
                status: 'succeeded',
                attempts: event.attempts,
                calls: event.calls,
                cached: event.cached,
                rowCount: event.rowCount,
                startedAt: event.startedAt,
                durationMs: event.durationMs,
              };
              break;
            case 'fragment.failed':
              next[event.fragmentId] = {
                ...current,
                status: 'failed',
                attempts: event.attempts,
                startedAt: event.startedAt,
                durationMs: event.durationMs,
                error: { code: event.error.code, message: event.error.message },
              };
              break;
            default:
              return context.fragments;
          }
          return next;
        },
      }),
      skipDownstream: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'fragment.failed') return;
        const skipped = downstreamOf(context, event.fragmentId);
        if (skipped.length === 0) return;
        enqueue.assign({
          fragments: ({ context: c }) => {
            const next = { ...c.fragments };
            for (const id of skipped) next[id] = { ...next[id]!, status: 'skipped' };
            return next;
          },
        });
        for (const id of skipped) {
          const f = context.fragments[id]!;
          deps.emit(stamp({ type: 'fragment.skipped', fragmentId: id, source: f.source, level: f.level, because: event.fragmentId }));
        }
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
      levelFinished: ({ context }, params: { level: number }) => levelFinished(context, params.level),
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
    context: {
      queryId: plan.id,
      errorPolicy: plan.errorPolicy,
      schedule: plan.schedule,
      level: -1,
      fragments: initialFragments,
    },
    initial: 'planned',
    on: {
      'fragment.queued': { actions: 'forward' },
      'fragment.started': { actions: ['record', 'forward'] },
      'fragment.attempt.failed': { actions: 'forward' },
      'fragment.retrying': { actions: 'forward' },
      'fragment.cached': { actions: 'forward' },
      'source.circuit.opened': { actions: 'forward' },
      'source.circuit.closed': { actions: 'forward' },
      'cache.unavailable': { actions: 'forward' },
      'fragment.succeeded': { actions: ['record', 'forward', 'startReadyFragments'] },
      'fragment.failed': [
        { guard: 'failFast', target: '.failed', actions: ['record', 'forward', 'failFromFragment'] },
        { actions: ['record', 'forward', 'skipDownstream', 'startReadyFragments'] },
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
