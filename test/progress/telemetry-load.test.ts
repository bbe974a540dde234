import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '../../src/index.js';
import { instrument } from '../../src/progress/telemetry.js';

describe('OpenTelemetry: adaptive limits and hedges', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  afterEach(() => trace.disable());

  it('records limit changes and hedges as span events of the query span', () => {
    const events$ = new Subject<ExecutionEvent>();
    const subscription = instrument(events$, { tracer: provider.getTracer('test') });
    const base = { queryId: 'q', runId: 'run-1', fragmentId: 'f', source: 'db', level: 0 };
    events$.next({ type: 'query.started', queryId: 'q', runId: 'run-1', at: 0, fragments: 1, levels: 1 });
    events$.next({ type: 'source.limit.changed', ...base, at: 1, previous: 4, limit: 8 });
    events$.next({ type: 'fragment.hedged', ...base, at: 2, attempt: 1, batch: { index: 0, count: 1 }, afterMs: 30 });
    events$.next({ type: 'query.done', queryId: 'q', runId: 'run-1', at: 3, status: 'ok', rowCount: 0, durationMs: 3 });
    subscription.unsubscribe();
    const [query] = exporter.getFinishedSpans().filter((s) => s.name === 'tributary.query');
    const byName = Object.fromEntries(query!.events.map((e) => [e.name, e.attributes]));
    expect(byName['tributary.source.limit.changed']).toEqual({ 'tributary.source': 'db', 'tributary.fragment.id': 'f', 'tributary.source.limit': 8, 'tributary.source.limit.previous': 4 });
    expect(byName['tributary.fragment.hedged']).toEqual({ 'tributary.source': 'db', 'tributary.fragment.id': 'f', 'tributary.attempt': 1, 'tributary.hedge.after_ms': 30 });
  });
});
