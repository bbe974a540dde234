import { z } from 'zod';
import { timerMsSchema } from '../plan/schema.js';
import { parseSourceOptions } from './options.js';
import type { SourceExecutor } from './source.js';

/**
 * Load shedding for one source's lane, taken by every built-in connector (and a sources
 * file entry): `maxQueued` calls may wait for the lane, none longer than `maxQueueMs`; a call
 * past either fails at once with a retryable SOURCE_UNAVAILABLE (overloaded). They override
 * the executor's `maxQueued` / `maxQueueMs` for this source.
 */
export interface SourceLaneOptions {
  /** Most calls waiting for this source's lane (0: none waits). */
  maxQueued?: number;
  /** Longest wait for this source's lane, in ms. */
  maxQueueMs?: number;
  /** Run this source's calls on the executor's BullMQ workers (its `remote` option), as if `remote.sources` listed it. */
  remote?: boolean;
}

/** The lane options, checked here for a connector and at registration for any source object. */
export const sourceLaneSchema = z.object({
  maxQueued: z.number().int().nonnegative().optional(),
  maxQueueMs: timerMsSchema.optional(),
  remote: z.boolean().optional(),
});

/**
 * Gives a connector factory the lane options: they are validated here (CONFIG_INVALID at
 * `options.maxQueued`), taken out of the options the connector sees (its own schema stays
 * strict) and set on the source it returns, where the executor's lane reads them. @internal
 */
export function withLaneOptions<O, S extends SourceExecutor>(kind: string, connector: (options: O) => S): (options?: O & SourceLaneOptions) => S {
  return (options) => {
    if (typeof options !== 'object' || options === null) return connector(options as O);
    const { maxQueued, maxQueueMs, remote, ...rest } = options;
    const lane = parseSourceOptions(kind, sourceLaneSchema, { maxQueued, maxQueueMs, remote });
    const source = connector(rest as O);
    if (lane.maxQueued !== undefined) source.maxQueued = lane.maxQueued;
    if (lane.maxQueueMs !== undefined) source.maxQueueMs = lane.maxQueueMs;
    if (lane.remote === true) source.remote = true;
    return source;
  };
}
