import { SpanStatusCode, type Span } from '@opentelemetry/api';
import type { TributaryError } from '../errors.js';

/** Marks a span failed: ERROR status, the code as an attribute, the error as an `exception` event. */
export function fail(span: Span, error: Pick<TributaryError, 'code' | 'message' | 'name'> & { stack?: string }): void {
  // Reading `stack` formats it (through source maps, when enabled): costly, so only for a span that records.
  if (!span.isRecording()) return;
  span.setAttribute('tributary.error.code', error.code);
  span.recordException({ name: error.name, message: error.message, code: error.code, ...(error.stack ? { stack: error.stack } : {}) });
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
