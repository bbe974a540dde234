import { z } from 'zod';
import type { SourceExecutor } from '../sources/source.js';
import { redisOptionsOf } from './connection.js';
import { goesRemote } from './goes-remote.js';
import { createRemoteLane, type RemoteLane, type RemoteMetrics } from './remote-lane.js';
import { remoteSource } from './remote-source.js';

/** `createExecutor({ remote })`: run the sources' calls on BullMQ workers. */
export const remoteOptionsSchema = z.strictObject({
  /** The queue's Redis: a URL or ioredis options. */
  connection: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  /** The BullMQ queue name the workers serve. */
  queue: z.string().min(1),
  /** The sources whose calls go to the workers (besides any source with `remote: true`); default all (including ones registered later). */
  sources: z.array(z.string().min(1)).optional(),
  /** Longest wait for one job besides the per-attempt timeout; default none. */
  timeoutMs: z.number().int().positive().optional(),
  /** How long a call waits for Redis before SOURCE_UNAVAILABLE; default 2000. */
  connectTimeoutMs: z.number().int().positive().optional(),
});

export type RemoteOptions = z.input<typeof remoteOptionsSchema>;

/** What the executor holds for its `remote` option. @internal */
export interface ExecutorRemote {
  /** The source to register under `name`: wrapped when its calls go remote. */
  wrap(name: string, source: SourceExecutor): SourceExecutor;
  metrics(): Promise<RemoteMetrics>;
  close(): Promise<void>;
}

/** The executor's side of `remote`: one lane, shared by every wrapped source. @internal */
export function wrapRemote(options: z.output<typeof remoteOptionsSchema>): ExecutorRemote {
  // Checked here to name the executor's option; the lane checks its own `connection` again.
  redisOptionsOf(options.connection, 'remote.connection', 'executor options');
  const lane: RemoteLane = createRemoteLane({
    connection: options.connection,
    queue: options.queue,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
  });
  const only = options.sources ? new Set(options.sources) : undefined;
  return {
    wrap: (name, source) => (goesRemote(name, source, only) ? remoteSource(name, source, lane) : source),
    metrics: () => lane.metrics(),
    close: () => lane.close(),
  };
}
