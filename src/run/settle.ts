import { TributaryError } from '../errors.js';
import { originalError } from '../value-mask.js';
import type { SettleEvent } from './port.js';
import type { RunPort } from './run-port.js';

/**
 * A fragment of `port`'s run settled, as its source actor (or the cache, or the deadline)
 * reports it: the status table records the outcome; a failure joins the run's errors and,
 * under fail-fast, becomes the reason the run stops; then the durable store, the streaming
 * merge and the event listeners learn it. @internal
 */
export function recordSettlement(port: RunPort, event: SettleEvent): void {
  const i = port.prepared.indexOf.get(event.fragmentId)!;
  const table = port.table;
  if (event.type === 'fragment.succeeded') {
    table.succeeded(i, event);
    // Stopped (or never run) because its rows were no longer wanted: by a satisfied limit,
    // or because the consumer of run.rows() left, which is no reason to think them unneeded.
    if (event.limited) table.setReason(i, port.streaming?.cutShort(event.fragmentId) ? 'consumer-left' : event.limited === 'stopped' ? 'limit-stopped' : 'limit-satisfied');
  } else if (event.type === 'fragment.dropped') {
    table.dropped(i, event);
  } else {
    if (event.reason) table.setReason(i, event.reason);
    table.failed(i, event);
    // The event carries the masked copy (it fans out); the caller's result keeps the driver's words.
    port.errors.push(originalError(event.error));
    if (port.errorPolicy === 'fail-fast') {
      port.stopReason ??= new TributaryError('CANCELLED', `stopped because fragment "${event.fragmentId}" failed (fail-fast)`, { cause: event.error });
    }
  }
  port.rt.durable?.settled(event, port.rows[i]);
  port.streaming?.settled(event.fragmentId);
  if (port.events.wanted) port.events.emit(event);
}

/** The query machine took the settle event: the fragment counts as finished, and a success releases its dependents. @internal */
export function countSettled(port: RunPort, event: SettleEvent): void {
  const i = port.prepared.indexOf.get(event.fragmentId)!;
  port.table.settle(i);
  if (event.type === 'fragment.succeeded') port.scheduler.release(i);
  port.events.progressed();
}

/** Under `partial`, everything downstream of the failed or dropped fragment `fragmentId` is skipped, each with its event. @internal */
export function skipBelow(port: RunPort, fragmentId: string): void {
  const i = port.prepared.indexOf.get(fragmentId)!;
  for (const d of port.scheduler.skipDownstream(i)) {
    const f = port.prepared.fragments[d]!;
    port.streaming?.settled(f.id);
    if (port.events.wanted) {
      port.events.emit({ type: 'fragment.skipped', queryId: port.queryId, runId: port.runId, at: port.at(), fragmentId: f.id, source: f.source, level: f.level, because: fragmentId });
    }
  }
  port.events.progressed();
}

/** A fragment the query counted only as it failed (see `finishStopped`): its source, and how it ended. */
export interface LateSettle {
  source: string;
  failed: boolean;
  cached: boolean;
}

/**
 * The query failed (fail-fast, a cancel, a deadline under fail-fast). A fragment whose outcome
 * was recorded (its event went to `events$`) but whose settle event the query actor never took
 * (the query ended first: a cancel from an `events$` handler, say) is counted now, and
 * returned so its source's figures count it too. Then every fragment still pending that can
 * never run because one it depends on did not succeed (it failed, was dropped, skipped, or was
 * stopped unfinished) is skipped, each with its event. So the query actor's last snapshot,
 * `progress$` and `events$` count what `result.fragments` reports. One still pending whose
 * upstreams all succeeded stays as it is: the stop kept it from its turn (`cancelled` in the
 * result). O(fragments), once per failed run. @internal
 */
export function finishStopped(port: RunPort): LateSettle[] {
  const { prepared, table } = port;
  const late: LateSettle[] = [];
  for (const f of prepared.fragments) {
    const state = table.state(f.index);
    if ((state === 'succeeded' || state === 'failed') && table.settle(f.index)) late.push({ source: f.source, failed: state === 'failed', cached: table.cached(f.index) });
    else if (state === 'dropped') table.settle(f.index);
  }
  for (const f of prepared.fragments) {
    if (!table.isPending(f.index)) continue;
    const blocked = f.dependsOn.find((u) => table.state(u) !== 'succeeded');
    if (blocked === undefined || !table.skipped(f.index)) continue;
    if (port.events.wanted) {
      const because = prepared.fragments[blocked]!.id;
      port.events.emit({ type: 'fragment.skipped', queryId: port.queryId, runId: port.runId, at: port.at(), fragmentId: f.id, source: f.source, level: f.level, because });
    }
  }
  port.events.progressed();
  return late;
}
