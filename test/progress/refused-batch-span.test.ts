import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Subject } from 'rxjs';
import { expect, it } from 'vitest';
import { FragmentError, type ExecutionEvent } from '../../src/index.js';
import { instrument } from '../../src/progress/telemetry.js';

it('a call of a batched bind join refused before it started (an open circuit) gets a short span naming its batch', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const events = new Subject<ExecutionEvent>();
  const subscription = instrument(events, { tracer: provider.getTracer('test') });
  const base = { queryId: 'q', runId: 'run-1', fragmentId: 'f', source: 's', level: 0 };
  const error = new FragmentError('SOURCE_UNAVAILABLE', 'circuit open', { fragmentId: 'f', source: 's', attempt: 1, retryable: true });
  events.next({ type: 'query.started', queryId: 'q', runId: 'run-1', at: 0, fragments: 1, levels: 1 });
  events.next({ ...base, type: 'fragment.started', at: 1, attempt: 1, batch: { index: 0, count: 2 } });
  // Batch 1's call never started: the circuit refused it.
  events.next({ ...base, type: 'fragment.attempt.failed', at: 2, attempt: 1, batch: { index: 1, count: 2 }, retryable: true, error });
  const [refused] = exporter.getFinishedSpans().filter((s) => s.name === 'tributary.fragment');
  expect(refused!.attributes).toMatchObject({ 'tributary.attempt': 1, 'tributary.batch.index': 1, 'tributary.batch.count': 2, 'tributary.error.code': 'SOURCE_UNAVAILABLE' });
  subscription.unsubscribe();
  trace.disable();
  await provider.shutdown();
});
