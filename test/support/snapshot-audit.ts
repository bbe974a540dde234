import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { ExecutionEvent, QueryResult, QueryRun } from '../../src/index.js';
import { fromEvents, fromResult } from './snapshot-report.js';

/**
 * Keeps every snapshot and event a query actor tree emits — through the executor's `inspect`
 * option and through `subscribe` on the query actor and on each child actor as it appears —
 * each with a deep copy (structuredClone) taken when it arrived, and checks after the run
 * that none changed since and that the inspector's stream is consistent (issue 12).
 *
 * @example
 * const audit = snapshotAudit();
 * const executor = createExecutor({ sources, inspect: audit.inspect });
 * const run = audit.watch(executor.run(plan));
 * expect(audit.problems(run, await run.result)).toEqual([]);
 */
export interface SnapshotAudit {
  /** The `inspect` option to give `createExecutor`: sees every run of the executor. */
  inspect(event: InspectionEvent): void;
  /** Subscribes to `run.actor` (and its children as they appear) and to `run.events$`; returns the run. */
  watch(run: QueryRun): QueryRun;
  /**
   * What is wrong with `run`'s record: a snapshot or event changed after it was emitted, an
   * actor that emitted before it was announced, a child not named by a source of the plan,
   * a last snapshot that does not say what `outcome` (the result, or the error it rejected
   * with) reports. Empty when all is well.
   */
  problems(run: QueryRun, outcome: QueryResult | Error, sources: readonly string[]): string[];
  /** How many snapshots and events were kept for `run` (a test checks it saw something). */
  kept(run: QueryRun): { snapshots: number; events: number; subscribed: number; children: string[] };
}

interface Kept {
  what: string;
  /** The object as emitted (compared again at the end). */
  live: unknown;
  /** What it looked like on arrival. */
  copy: unknown;
}

/** An inspection event as XState v5 emits it (the fields this audit reads). */
interface Inspected {
  type: string;
  rootId: string;
  actorRef: AnyActorRef;
  sourceRef?: AnyActorRef;
  event?: unknown;
  snapshot?: unknown;
}

const isActorRef = (v: object): v is AnyActorRef => typeof (v as { sessionId?: unknown }).sessionId === 'string' && typeof (v as { send?: unknown }).send === 'function';

/**
 * A plain-data projection of `value`, deep: what a reader of the snapshot or event can see.
 * An actor reference reads as its id and session, a state machine or state node as its id,
 * an error as its name, message and own fields, a function as a marker.
 */
export function plain(value: unknown, seen: Set<object> = new Set()): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? '[function]' : typeof value === 'bigint' ? `${value}n` : value;
  if (seen.has(value)) return '[cycle]';
  seen.add(value);
  try {
    if (isActorRef(value)) return { actor: value.id, sessionId: value.sessionId };
    if (Array.isArray(value)) return value.map((v) => plain(v, seen));
    if (value instanceof Map) return { map: [...value.entries()].map(([k, v]) => [plain(k, seen), plain(v, seen)]) };
    if (value instanceof Set) return { set: [...value].map((v) => plain(v, seen)) };
    if (value instanceof Date) return { date: value.getTime() };
    const out: Record<string, unknown> = {};
    if (value instanceof Error) {
      out.name = value.name;
      out.message = value.message;
    }
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      // A snapshot's machine and state nodes are the shared definition: their ids say which.
      const copy = key === 'machine' ? (v as { id?: unknown } | undefined)?.id : key === '_nodes' && Array.isArray(v) ? v.map((n: { id?: unknown }) => n.id) : plain(v, seen);
      // Defined, not assigned: a source may be called `__proto__`.
      Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

const copyOf = (value: unknown): unknown => structuredClone(plain(value));

/** The first difference between two plain values, as a path (undefined when equal). */
function differs(a: unknown, b: unknown, path = ''): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return `${path || '.'}: ${JSON.stringify(b)} became ${JSON.stringify(a)}`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = differs((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

interface Tree {
  records: Kept[];
  /** The query actor's snapshots as `subscribe` got them, in order. */
  query: Kept[];
  inspected: Inspected[];
  subscribed: number;
  children: Set<string>;
  root?: AnyActorRef;
}

export function snapshotAudit(): SnapshotAudit {
  const trees = new Map<string, Tree>();
  const events = new Map<QueryRun, ExecutionEvent[]>();
  const tree = (rootId: string): Tree => {
    let t = trees.get(rootId);
    if (!t) trees.set(rootId, (t = { records: [], query: [], inspected: [], subscribed: 0, children: new Set() }));
    return t;
  };

  const keep = (t: Tree, what: string, live: unknown): void => {
    t.records.push({ what, live, copy: copyOf(live) });
  };

  const subscribeTo = (t: Tree, ref: AnyActorRef, label: string): void => {
    ref.subscribe({
      next: (snapshot: unknown) => {
        t.subscribed++;
        keep(t, `${label} subscribe #${t.subscribed}`, snapshot);
        if (ref === t.root) t.query.push(t.records[t.records.length - 1]!);
        // A child actor, as soon as the query's snapshot shows it: subscribed too.
        const children = (snapshot as { children?: Record<string, AnyActorRef | undefined> }).children ?? {};
        for (const [id, child] of Object.entries(children)) {
          if (!child || t.children.has(child.sessionId)) continue;
          t.children.add(child.sessionId);
          subscribeTo(t, child, `child ${id}`);
          keep(t, `child ${id} getSnapshot`, child.getSnapshot());
        }
      },
      error: () => undefined,
    });
  };

  return {
    inspect(event) {
      const e = event as unknown as Inspected;
      const t = tree(e.rootId);
      t.inspected.push(e);
      keep(t, `inspect #${t.inspected.length} ${e.type} of ${e.actorRef.id}`, event);
    },
    watch(run) {
      const t = tree(run.actor.sessionId);
      t.root = run.actor;
      subscribeTo(t, run.actor, 'query');
      const list: ExecutionEvent[] = [];
      events.set(run, list);
      run.events$.subscribe((e) => {
        list.push(e);
        keep(t, `events$ ${e.type}`, e);
      });
      return run;
    },
    kept(run) {
      const t = tree(run.actor.sessionId);
      const actors = t.inspected.filter((e) => e.type === '@xstate.actor' && e.actorRef !== run.actor).map((e) => e.actorRef.id);
      return { snapshots: t.inspected.filter((e) => e.type === '@xstate.snapshot').length, events: t.inspected.filter((e) => e.type === '@xstate.event').length, subscribed: t.subscribed, children: actors };
    },
    problems(run, outcome, sources) {
      const t = tree(run.actor.sessionId);
      const out: string[] = [];
      // 1. Nothing changed after it was emitted.
      for (const r of t.records) {
        const d = differs(copyOf(r.live), r.copy);
        if (d) out.push(`${r.what} changed after it was emitted: ${d}`);
      }
      // 2. A selector that compares by reference (as @xstate/react's useSelector) sees every change.
      out.push(...selectionMisses(t.query));
      // 3. Every actor that emitted was announced first; one root, the query actor; children named by sources.
      const announced = new Map<string, AnyActorRef>();
      const query = run.actor;
      for (const e of t.inspected) {
        if (e.type === '@xstate.actor') {
          announced.set(e.actorRef.sessionId, e.actorRef);
          continue;
        }
        if (!announced.has(e.actorRef.sessionId)) out.push(`${e.type} of ${e.actorRef.id} before its @xstate.actor`);
        if (e.sourceRef && !announced.has(e.sourceRef.sessionId)) out.push(`${e.type} from ${e.sourceRef.id} before its @xstate.actor`);
      }
      if (!announced.has(query.sessionId)) out.push('the query actor was never announced');
      const children = [...announced.values()].filter((a) => a !== query);
      const childIds = children.map((c) => c.id);
      for (const c of children) {
        if (c._parent !== query) out.push(`actor ${c.id} is not a child of the query actor`);
        if (!sources.includes(c.id)) out.push(`child actor ${c.id} is not a source of the plan (${sources.join(', ')})`);
        const input = (c.getSnapshot() as { input?: { source?: unknown } }).input;
        if (input?.source !== c.id) out.push(`child actor ${c.id} runs source ${String(input?.source)}`);
      }
      if (new Set(childIds).size !== childIds.length) out.push(`a source has two child actors: ${childIds.join(', ')}`);
      // Fragments go to the source actor of their own source, and settle from it.
      const sentTo = new Map<string, number>();
      for (const e of t.inspected) {
        if (e.type !== '@xstate.event') continue;
        const ev = e.event as { type: string; fragments?: number[]; source?: string; fragmentId?: string };
        if (ev.type === 'fragments.ready' && e.actorRef !== query) sentTo.set(e.actorRef.id, (sentTo.get(e.actorRef.id) ?? 0) + (ev.fragments?.length ?? 0));
        if (ev.type.startsWith('fragment.') && e.actorRef === query && e.sourceRef && e.sourceRef !== query && ev.source !== e.sourceRef.id) {
          out.push(`${ev.type} of ${ev.fragmentId} (source ${ev.source}) came from child actor ${e.sourceRef.id}`);
        }
      }
      // 4. The last snapshot says what the outcome reports.
      const snaps = t.inspected.filter((e) => e.type === '@xstate.snapshot' && e.actorRef === query);
      const last = snaps[snaps.length - 1]?.snapshot as { status: string; value: unknown; context: QueryContextView } | undefined;
      const final = query.getSnapshot() as { status: string; value: unknown; context: QueryContextView };
      if (!last) out.push('no @xstate.snapshot of the query actor');
      else if (last !== final) out.push('the last @xstate.snapshot is not the actor’s final snapshot');
      if (final.status !== 'done') out.push(`the query actor ended ${final.status}, not done`);
      const failed = outcome instanceof Error || outcome.status === 'failed';
      if (final.value !== (failed ? 'failed' : 'done')) out.push(`the query actor ended in ${String(final.value)} for a ${failed ? 'failed' : 'finished'} run`);
      const report = outcome instanceof Error ? fromEvents(events.get(run) ?? []) : fromResult(outcome);
      if (report) {
        const c = final.context.counts;
        const want = { total: report.total, succeeded: report.succeeded, failed: report.failed, skipped: report.skipped, cached: report.cached, queued: 0, running: 0 };
        const got = { total: c.total, succeeded: c.succeeded, failed: c.failed, skipped: c.skipped, cached: c.cached, queued: c.queued, running: c.running };
        if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`final counts ${JSON.stringify(got)}, the report says ${JSON.stringify(want)}`);
        for (const name of sources) {
          const s = final.context.sources[name] ?? { sent: 0, succeeded: 0, failed: 0, cached: 0 };
          const r = report.bySource.get(name) ?? { succeeded: 0, failed: 0, cached: 0 };
          if (s.succeeded !== r.succeeded || s.failed !== r.failed || s.cached !== r.cached) {
            out.push(`final sources.${name} ${JSON.stringify(s)}, the report says ${JSON.stringify(r)}`);
          }
          if (s.sent !== (sentTo.get(name) ?? 0)) out.push(`sources.${name}.sent is ${s.sent}, its actor was sent ${sentTo.get(name) ?? 0}`);
        }
      }
      return out;
    },
  };
}

/** What a reference-comparing selector reads of a query snapshot: each part of its context. */
const SELECTED: readonly [string, (context: Record<string, unknown>) => unknown][] = [
  ['context', (c) => c],
  ['context.counts', (c) => c.counts],
  ['context.sources', (c) => c.sources],
  ['context.failure', (c) => c.failure],
];

/**
 * Between two snapshots in a row, a selected part whose content changed must be a new object:
 * else a selector comparing by reference keeps showing the old value.
 */
function selectionMisses(query: readonly Kept[]): string[] {
  const out: string[] = [];
  const contextOf = (k: Kept, live: boolean): Record<string, unknown> => ((live ? k.live : k.copy) as { context: Record<string, unknown> }).context;
  for (let i = 1; i < query.length; i++) {
    const prev = query[i - 1]!;
    const cur = query[i]!;
    const selectors = [...SELECTED];
    const sources = { ...(contextOf(cur, true).sources as Record<string, unknown>) };
    for (const name of Object.keys(sources)) selectors.push([`context.sources.${name}`, (c) => (c.sources as Record<string, unknown>)[name]]);
    for (const [what, select] of selectors) {
      const a = select(contextOf(prev, true));
      const b = select(contextOf(cur, true));
      if (a === undefined || a !== b) continue;
      const d = differs(select(contextOf(cur, false)), select(contextOf(prev, false)));
      if (d) out.push(`snapshot ${i}: ${what} changed (${d}) but is the same object as before: a selector comparing by reference misses it`);
    }
  }
  return out;
}

interface QueryContextView {
  counts: { total: number; queued: number; running: number; succeeded: number; failed: number; skipped: number; cached: number };
  sources: Record<string, { sent: number; succeeded: number; failed: number; cached: number } | undefined>;
}
