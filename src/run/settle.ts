import { TributaryError } from '../errors.js';
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
    port.errors.push(event.error);
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

/**
 * The query failed (fail-fast, a cancel, a deadline under fail-fast): every fragment still
 * pending that can never run because a fragment it depends on did not succeed (it failed,
 * was dropped, skipped, or was stopped unfinished) is skipped now, each with its event, so
 * the query actor's last snapshot, `progress$` and `events$` count what `result.fragments`
 * reports as skipped. One still pending whose upstreams all succeeded stays as it is: the
 * stop kept it from its turn (`cancelled` in the result). O(fragments), once per failed run. @internal
 */
export function skipUnreachable(port: RunPort): void {
  const { prepared, table } = port;
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
}
