import { createExecutor, type Executor } from '../../src/executor.js';
import type { ExecutorOptions } from '../../src/config.js';
import type { Row } from '../../src/data/row.js';
import type { SourceExecutor } from '../../src/sources/source.js';

/** An executor with the suite's defaults: no cache (a hit would hide the fault), short timeouts and backoff. */
export function faultExecutor(sources: Record<string, SourceExecutor>, options: Omit<ExecutorOptions, 'sources'> = {}): Executor {
  return createExecutor({
    cache: false,
    telemetry: false,
    timeoutMs: 1000,
    retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 200, factor: 2, jitter: 'equal' },
    ...options,
    sources,
  });
}

/** Calls a source directly (outside the executor's breaker and budget) with a bounded signal. */
export async function probeSource(source: SourceExecutor, query: unknown, timeoutMs = 5000): Promise<Row[]> {
  const out = await source.execute(query, { params: [], signal: AbortSignal.timeout(timeoutMs) });
  if (!Array.isArray(out)) throw new Error('the probe expected an array of rows');
  return out;
}
