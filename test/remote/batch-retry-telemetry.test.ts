import { randomUUID } from 'node:crypto';
import type { BasicTracerProvider, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyze, createExecutor, createWorker, postgresSource, type Executor, type Progress, type RemoteWorker } from '../../src/index.js';
import { collectEvents, ofType } from '../support/engine.js';
import { REDIS_URL, redisUnavailableReason } from '../support/redis.js';
import { describeWithServer, pgAdmin, pgUrl, requireServer, type Admin } from '../support/servers.js';
import { flakyBatch, memoryTracer, rowSpans, type FlakyBatch } from '../support/flaky-batch.js';

const pgCheck = await requireServer('postgres');
const redisCheck = { skipReason: await redisUnavailableReason() };

describeWithServer(pgCheck.skipReason ? pgCheck : redisCheck, 'a batched bind join on a BullMQ worker whose one batch is retried', () => {
  const queue = `tributary-test-${randomUUID()}`;
  let pg: Admin;
  let exporter: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let executor: Executor;
  let worker: RemoteWorker;
  let flaky: FlakyBatch;

  beforeAll(async () => {
    pg = await pgAdmin();
    flaky = await flakyBatch(pg, 'remote');
    worker = createWorker({ id: 'w1', queue, connection: REDIS_URL, concurrency: 2, sources: { pg: postgresSource({ url: pgUrl() }) } });
    await worker.ready();
    ({ exporter, provider } = memoryTracer());
    executor = createExecutor({
      sources: { keys: flaky.keys, pg: postgresSource({ url: pgUrl() }) },
      cache: false,
      circuitBreaker: false,
      retry: { attempts: 3, initialDelayMs: 1, jitter: 'none' },
      telemetry: { tracer: provider.getTracer('test') },
      remote: { connection: REDIS_URL, queue, sources: ['pg'] },
    });
  });

  afterAll(async () => {
    await executor?.close();
    await worker?.drain();
    const q = new Queue(queue, { connection: { url: REDIS_URL } });
    await q.obliterate({ force: true });
    await q.close();
    await flaky?.drop();
    await pg?.close();
    await provider?.shutdown();
  });

  it('names the worker of every call, and events, spans, progress, result, EXPLAIN ANALYZE and snapshot agree', async () => {
    const run = executor.run(flaky.plan());
    const events = collectEvents(run);
    const progress: Progress[] = [];
    run.progress$.subscribe((p) => progress.push(p));
    const result = await run.result;
    expect(result.status).toBe('ok');
    expect(result.rows).toEqual([1, 2, 3, 4].map((id) => ({ id })));

    const started = ofType(events, 'fragment.started').filter((e) => e.fragmentId === 'rows');
    expect(started.map((e) => `${e.batch.index}@${e.attempt}`).sort()).toEqual(['0@1', '1@1', '1@2']);
    const remote = ofType(events, 'fragment.remote');
    expect(remote.map((e) => `${e.worker}:${e.batch.index}/${e.batch.count}@${e.attempt}`).sort()).toEqual(['w1:0/2@1', 'w1:1/2@1', 'w1:1/2@2']);
    expect(new Set(remote.map((e) => e.jobId)).size).toBe(3);
    const failed = ofType(events, 'fragment.attempt.failed');
    expect(failed.map((e) => `${e.batch.index}@${e.attempt}:${e.error.code}:${String(e.error.driverCode)}:${String(e.retryable)}`)).toEqual(['1@1:FRAGMENT_FAILED:40001:true']);
    expect(ofType(events, 'fragment.retrying').map((e) => e.attempt)).toEqual([2]);
    expect(ofType(events, 'fragment.succeeded').find((e) => e.fragmentId === 'rows')).toMatchObject({ attempts: 2, calls: 3, rowCount: 4 });

    expect(result.fragments['rows']).toMatchObject({ attempts: 2, calls: 3, rowCount: 4, status: 'succeeded' });
    expect(result.stats.retries).toBe(1);
    expect(progress.at(-1)).toMatchObject({ total: 2, succeeded: 2, failed: 0, retries: 1, running: 0, percent: 100, done: true });
    expect(run.actor.getSnapshot().context.counts).toEqual({ total: 2, queued: 0, running: 0, succeeded: 2, failed: 0, skipped: 0, cached: 0 });
    expect(analyze(result, undefined, { events }).fragments.find((f) => f.id === 'rows')).toMatchObject({ attempts: 2, calls: 3, rowCount: 4 });

    expect(rowSpans(exporter).described).toEqual(['0@1:ok', '1@1:error', '1@2:ok']);
    // The tributary.fragment.remote span events name their batch too.
    const remoteSpanEvents = exporter.getFinishedSpans().flatMap((s) => s.events.filter((e) => e.name === 'tributary.fragment.remote'));
    expect(remoteSpanEvents.map((e) => `${String(e.attributes?.['tributary.batch.index'])}@${String(e.attributes?.['tributary.attempt'])}`).sort()).toEqual(['0@1', '1@1', '1@2']);
  });
});
