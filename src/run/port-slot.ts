import type { QueryPort } from './port.js';

/*
 * Where a query actor finds its run: a slot on its actor system. Not a machine: the machines
 * (machines/) read it, the run (src/run/start.ts) binds and unbinds it, so src/ needs no
 * import of a machine module for it.
 */

/**
 * Each running query's port, held by its actor system (one per query actor tree), so that
 * neither context nor input (both of which XState keeps) holds the run itself. The run binds
 * its port after creating the actor and unbinds it when it ends. A tree with a spawned child
 * actor stays reachable for V8's young-generation collector after it ends (measured: a
 * finished tree is promoted into the old generation, and only a full collection frees it),
 * so a port still reachable from it would carry the whole run (rows, status table, events)
 * along. Unbound, a finished run dies young (test/machines/released.test.ts).
 */
const PORT = Symbol('tributary.port');

/** An actor system as tributary sees it: one optional slot for the run's port. */
interface PortSlot {
  [PORT]?: QueryPort | undefined;
}

/**
 * Binds a query actor's system to its run. A slot on the system rather than a WeakMap entry:
 * a WeakMap shrinks and reallocates its table as runs come and go, and its entries are
 * ephemerons the young-generation collector has to trace. @internal
 */
export function bindPort(system: object, port: QueryPort): void {
  (system as PortSlot)[PORT] = port;
}

/** The run has ended: its actors no longer reach it. @internal */
export function unbindPort(system: object): void {
  (system as PortSlot)[PORT] = undefined;
}

/** The run of the query actor tree `system` belongs to. @internal */
export function portOf(system: object): QueryPort {
  const port = (system as PortSlot)[PORT];
  if (!port) throw new Error('tributary: this actor is not running a query (no run is bound to its system: it was not started by an executor, or its run has ended)');
  return port;
}

/** The run of `system`'s query actor tree, if one is bound (none for a run refused before it started). @internal */
export function boundPortOf(system: object): QueryPort | undefined {
  return (system as PortSlot)[PORT];
}
