/* Scale-out: a BullMQ queue as a lane, and the worker that serves it. */
export { createRemoteLane } from './remote-lane.js';
export type { RemoteLane, RemoteLaneOptions, RemoteMetrics } from './remote-lane.js';
export { remoteSource } from './remote-source.js';
export { createWorker, drainOnSignal } from './worker.js';
export type { RemoteWorker, WorkerOptions } from './worker.js';
export type { RemoteConnection } from './connection.js';
export { remoteOptionsSchema, wrapRemote } from './executor-remote.js';
export type { RemoteOptions } from './executor-remote.js';
