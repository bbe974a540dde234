/* Durable runs: run stores, resume, and recorded runs replayed. */
export type { RunStore, StoredRun, StoredRunInfo, StoredRunState, StoredFragment, Lease } from './run-store.js';
export { sqliteRunStore, type SqliteRunStoreOptions } from './sqlite-run-store.js';
export { redisRunStore, type RedisRunStoreOptions } from './redis-run-store.js';
export { readRunSnapshot } from './codec.js';
export { storedRunKey } from './run-key.js';
export { DurableRuns, type ResumeOptions, type RunsFilter } from './runs.js';
export type { DurableRun } from './durable-run.js';
export { Recorder, recorderFor } from './recorder.js';
export { parseRecording, type Recording, type RecordedCall, type RecordedError, type RecordedSettings } from './recording.js';
export { replayRecording, type ReplayOptions } from './replay.js';
