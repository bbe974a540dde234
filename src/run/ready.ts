import { fragmentLimits, type Limits } from '../data/limits.js';
import type { Row } from '../data/row.js';
import { fitsLimits } from '../execution/fragment-limits.js';
import type { FragmentSucceededEvent } from '../progress/events.js';
import type { Ready } from './port.js';
import type { RunPort } from './run-port.js';
import type { Dispatch } from './scheduler.js';

/**
 * The fragments of a run that may start now (`QueryPort.takeReady`): those to send to their
 * source actors, per source, and those answered at once — by a resumed run's store or by
 * the in-process cache — which settle in the machine step that took them, as succeeded and
 * cached, without a source actor or a call. A plan served whole from the cache spawns no
 * source actor at all (unless the run is durable: see below). @internal
 */
export function takeReady(port: RunPort, level: number): Ready | undefined {
  const send = port.scheduler.take(port.schedule, level);
  if (!send) return undefined;
  // A resumed run: fragments whose rows the run store holds settle here, like cache hits.
  const restored = port.rt.durable?.restored;
  let cached = restored ? restore(port, send, restored) : undefined;
  const cache = port.rt.cache;
  // A durable run stores each fragment with the snapshot that counts it: its hits settle one
  // by one, through their source actors' pipelines (which look the cache up too), not
  // together in this step, whose snapshot would count them all for the first one stored.
  if (!cache || port.streaming || port.rt.durable) return { send, cached };
  for (let s = 0; s < send.length; s++) {
    const list = send[s];
    if (!list) continue;
    let kept: number[] | undefined;
    let fits: ((rows: Row[]) => boolean) | undefined; // its source's fragments' bounds, worked out at its first lookup
    for (let k = 0; k < list.length; k++) {
      const i = list[k]!;
      // A hit stored under looser limits (a run's, or another executor's through a shared
      // store) is none: the pipeline counts it a miss, its call held to the bounds by its source.
      const rows = cache.peekStatic(i, (fits ??= fitsOf(limitsOf(port, i))));
      if (!rows) {
        kept?.push(i);
        continue;
      }
      kept ??= list.slice(0, k);
      (cached ??= []).push(served(port, i, rows));
    }
    if (kept) send[s] = kept.length > 0 ? kept : undefined;
  }
  return { send, cached };
}

/** Whether a cache entry's rows are within `limits` (see fitsLimits). */
const fitsOf = (limits: Limits) => (rows: Row[]): boolean => fitsLimits(rows, limits);

/** Fragment `i`'s bounds as its call would have them: the run's, its source's own, the default byte bound. */
function limitsOf(port: RunPort, i: number): Limits {
  const bound = port.bound.get(port.prepared.fragments[i]!.source);
  return fragmentLimits(port.prepared.rowLimits, bound?.source.limits, port.prepared.defaultMaxBytes);
}

/** Takes the fragments a resumed run's store holds out of `send`; their settle events. */
function restore(port: RunPort, send: Dispatch, restored: ReadonlyMap<string, Row[]>): FragmentSucceededEvent[] | undefined {
  let out: FragmentSucceededEvent[] | undefined;
  for (let s = 0; s < send.length; s++) {
    const list = send[s];
    if (!list) continue;
    const kept = list.filter((i) => {
      const rows = restored.get(port.prepared.fragments[i]!.id);
      if (rows) (out ??= []).push(served(port, i, rows));
      return !rows;
    });
    send[s] = kept.length > 0 ? kept : undefined;
  }
  return out;
}

/** Fragment `i` answered with `rows` without a call: its events, its rows, its record. */
function served(port: RunPort, i: number, rows: Row[]): FragmentSucceededEvent {
  const f = port.prepared.fragments[i]!;
  const at = port.at();
  const base = { queryId: port.queryId, runId: port.runId, at, fragmentId: f.id, source: f.source, level: f.level };
  if (port.events.wanted) {
    port.events.emit({ type: 'fragment.queued', ...base });
    port.events.emit({ type: 'fragment.cached', ...base, rowCount: rows.length });
  }
  port.rows[i] = rows;
  const event: FragmentSucceededEvent = { type: 'fragment.succeeded', ...base, rowCount: rows.length, attempts: 0, calls: 0, cached: true, startedAt: at, durationMs: 0 };
  port.record(event);
  return event;
}
