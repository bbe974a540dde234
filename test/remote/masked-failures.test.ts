import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { PassThrough } from 'node:stream';
import { createExecutor, memorySource, postgresSource, type ExecutionEvent } from '../../src/index.js';
import { showProgress } from '../../src/cli/progress-bar.js';
import type { CliIo } from '../../src/cli/io.js';
import { LiveStore } from '../../src/ui/store.js';
import { describeRedis, REDIS_URL } from '../support/redis.js';
import { describeWithServer, requireServer } from '../support/servers.js';
import { spawnWorker, stopWorker, type WorkerProcess } from './fixtures/spawn.js';

/**
 * A PostgreSQL error on a BullMQ worker echoes a bound value. What the worker writes to Redis
 * (the failed job's failedReason and stacktrace, seen in every BullMQ dashboard) and what the
 * coordinator fans out (events$, spans, inspect) read `[param]`, as for an in-process call.
 */
const pgWorker = fileURLToPath(new URL('./fixtures/pg-worker.ts', import.meta.url));
const server = await requireServer('postgres');

const SSN = 'SSN-123-45-6789';
const PARAM = 'SSN-987-65-4321';

describeRedis('remote failures that echo bound values', () => {
  describeWithServer(server, 'with a worker on PostgreSQL', () => {
    const queue = `tributary-test-${randomUUID()}`;
    let worker: WorkerProcess | undefined;
    let q: Queue;

    beforeAll(async () => {
      q = new Queue(queue, { connection: { url: REDIS_URL } });
      worker = await spawnWorker({ QUEUE: queue, WORKER_ID: 'pg-mask', PG_URL: server.url, TRIBUTARY_REDIS_URL: REDIS_URL }, pgWorker);
    });
    afterAll(async () => {
      await stopWorker(worker);
      await q.obliterate({ force: true });
      await q.close();
    });

    it('a bad cast of a bound list and of a run param: nothing in Redis or in what fans out carries the values', async () => {
      const inspected: unknown[] = [];
      const exporter = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      const executor = createExecutor({
        sources: { c: memorySource({ tables: { customers: [{ ssn: SSN }] } }), pg: postgresSource({ url: server.url }) },
        remote: { connection: REDIS_URL, queue, sources: ['pg'] },
        retry: { attempts: 1 },
        cache: false,
        telemetry: { tracer: provider.getTracer('test') },
        inspect: (e: InspectionEvent) => void (e.type === '@xstate.event' && inspected.push(e.event)),
      });
      const events: ExecutionEvent[] = [];
      executor.events$.subscribe((e) => events.push(e));
      try {
        const list = await executor.run({
          id: 'remote-mask-list',
          fragments: [
            { id: 'c', source: 'c', query: { table: 'customers' } },
            { id: 'f', source: 'pg', dependsOn: ['c'], query: { sql: 'SELECT 1 AS x WHERE 1 = ANY($1::int[])', params: [{ $from: 'c', column: 'ssn' }] } },
          ],
        }).result;
        // tributary run's progress lines and the live page's log follow the remote run.
        let lines = '';
        const stderr = new PassThrough();
        stderr.on('data', (chunk: Buffer) => (lines += chunk.toString('utf8')));
        const io: CliIo = { stdout: new PassThrough(), stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() };
        const paramPlan = { id: 'remote-mask-param', fragments: [{ id: 'f', source: 'pg', query: { sql: 'SELECT $1::int AS x', params: [{ $param: 'ssn' }] } }] };
        const paramRun = executor.run(paramPlan, { params: { ssn: PARAM } });
        const store = new LiveStore();
        store.watch(paramRun, paramPlan);
        const progress = showProgress(paramRun, { fragments: 1, levels: 1 }, io, 'lines', (text) => text);
        const param = await paramRun.result;
        progress.stop();
        expect(lines).toMatch(/f \(pg\) attempt 1 runs on worker pg-mask \(job \S+\)/);
        expect(lines).toContain('invalid input syntax for type integer: "[param]"');
        const snapshot = store.snapshot();
        const log = snapshot.type === 'snapshot' ? snapshot.log.map((l) => `${l.type} ${l.text}`) : [];
        expect(log.some((l) => /^fragment\.remote f \(pg\) attempt 1 on worker pg-mask \(job \S+\)$/.test(l))).toBe(true);
        for (const result of [list, param]) {
          expect(result.status).toBe('failed');
          expect(result.errors[0]).toMatchObject({ driverCode: '22P02', message: expect.stringContaining('invalid input syntax for type integer: "[param]"') });
        }
        await new Promise((resolve) => setTimeout(resolve, 0));

        // What the worker wrote to Redis: each job failed with a classified, masked reason.
        const failed = await q.getFailed();
        expect(failed.length).toBe(2);
        for (const job of failed) {
          expect(job.failedReason).toContain('[param]');
          expect(job.failedReason).toContain('"driverCode":"22P02"');
        }
        const redis = inspect(failed.map((j) => ({ failedReason: j.failedReason, stacktrace: j.stacktrace, returnvalue: j.returnvalue, progress: j.progress })), { depth: 10 });

        const channels = {
          redis,
          lines,
          ui: JSON.stringify(snapshot),
          events: inspect(events, { depth: 30 }),
          inspector: inspect(inspected, { depth: 30 }),
          spans: inspect(exporter.getFinishedSpans().map((s) => ({ status: s.status, events: s.events, attributes: s.attributes })), { depth: 30 }),
        };
        for (const [channel, text] of Object.entries(channels)) for (const secret of [SSN, PARAM]) expect({ channel, leaked: text.includes(secret) }).toEqual({ channel, leaked: false });
        for (const channel of ['events', 'inspector', 'spans'] as const) expect(channels[channel]).toContain('[param]');
        expect(events.some((e) => e.type === 'fragment.remote' && e.worker === 'pg-mask')).toBe(true);
      } finally {
        await executor.close();
        await provider.shutdown();
      }
    }, 30_000);
  });
});
