import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import { from, memorySource, type Plan, type SourceExecutor } from '../../src/index.js';
import { uniqueName, type Admin } from './servers.js';

/**
 * A batched bind join whose one batch fails once, on a real PostgreSQL: keys 1–4 from memory,
 * bound in batches of 2 into a function that raises serialization_failure (40001, retryable)
 * the first time a batch holding key 3 runs (its sequence's nextval is not rolled back, so the
 * retry passes). Shared by the telemetry tests of a local and a BullMQ-remote run.
 */
export interface FlakyBatch {
  plan(): Plan;
  /** The memory source of the keys. */
  keys: SourceExecutor;
  drop(): Promise<void>;
}

export async function flakyBatch(pg: Admin, prefix: string): Promise<FlakyBatch> {
  const seq = uniqueName(`${prefix}_seq`);
  const fn = uniqueName(`${prefix}_fn`);
  await pg.exec(`CREATE SEQUENCE ${seq}`);
  await pg.exec(`CREATE FUNCTION ${fn}(keys int[]) RETURNS TABLE(id int) LANGUAGE plpgsql AS $$
    BEGIN
      IF 3 = ANY(keys) AND nextval('${seq}') = 1 THEN RAISE EXCEPTION 'try again' USING ERRCODE = '40001'; END IF;
      RETURN QUERY SELECT unnest(keys);
    END $$`);
  return {
    plan: () => ({
      id: uniqueName(prefix),
      fragments: [
        { id: 'keys', source: 'keys', query: { table: 'keys' } },
        { id: 'rows', source: 'pg', dependsOn: ['keys'], query: { sql: `SELECT id FROM ${fn}($1)`, params: [from('keys', 'k')] }, batch: { param: 0, size: 2 } },
      ],
      merge: { op: 'sort', input: 'rows', by: [{ column: 'id' }] },
    }),
    keys: memorySource({ tables: { keys: [1, 2, 3, 4].map((k) => ({ k })) } }),
    drop: async () => {
      await pg.exec(`DROP FUNCTION IF EXISTS ${fn}(int[])`);
      await pg.exec(`DROP SEQUENCE IF EXISTS ${seq}`);
    },
  };
}

/** A tracer whose finished spans are kept in memory. */
export function memoryTracer(): { exporter: InMemorySpanExporter; provider: BasicTracerProvider } {
  const exporter = new InMemorySpanExporter();
  return { exporter, provider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) };
}

/** The fragment `rows`' call spans, each as `<batch>@<attempt>:ok|error`, sorted. */
export function rowSpans(exporter: InMemorySpanExporter): { spans: ReadableSpan[]; described: string[] } {
  const spans = exporter.getFinishedSpans().filter((s) => s.name === 'tributary.fragment' && s.attributes['tributary.fragment.id'] === 'rows');
  const described = spans.map((s) => `${String(s.attributes['tributary.batch.index'])}@${String(s.attributes['tributary.attempt'])}:${s.status.code === SpanStatusCode.ERROR ? 'error' : 'ok'}`).sort();
  return { spans, described };
}
