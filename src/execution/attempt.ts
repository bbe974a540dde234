import { Observable } from 'rxjs';
import { FragmentError, TributaryError } from '../errors.js';
import type { BoundCall } from './bind.js';
import { toFragmentError } from './classify.js';
import type { TimerHandle } from './clock.js';
import type { SourceEnv } from './env.js';
import type { LaneTicket } from './lanes.js';
import { SourceCall, type CallOutput, type SinkOptions } from './source-call.js';

/** One call's output and the tries it took. */
export type AttemptOutput = CallOutput & { attempts: number };

/** The fragment an attempt belongs to, as the attempt sees it. */
export interface AttemptOwner {
  readonly env: SourceEnv;
  readonly index: number;
  readonly id: string;
  readonly level: number;
  readonly timeoutMs: number;
  /** Streaming: where batches go; `onFirstBatch` marks the call as no longer retryable. */
  readonly streaming: SinkOptions | undefined;
  /** True once a batch has been handed on (a retry would hand it on twice). */
  readonly streamed: boolean;
  /** Emits `fragment.started` and tells the status table. */
  attemptStarted(attempt: number, batch: { index: number; count: number }): void;
  /** Emits `fragment.attempt.failed`. */
  attemptFailed(attempt: number, error: FragmentError): void;
  /** Emits the circuit's transitions. */
  circuitChanged(transition: 'opened' | 'closed'): void;
}

function circuitOpen(owner: AttemptOwner, attempt: number): FragmentError {
  return new FragmentError('SOURCE_UNAVAILABLE', `source "${owner.env.sourceName}" is unavailable: its circuit is open after repeated failures`, {
    fragmentId: owner.id,
    source: owner.env.sourceName,
    attempt,
    retryable: false,
  });
}

/**
 * One try of one source call, as an Observable of its output: circuit check → a slot in
 * the source's lane, then the global one → `source.execute` under the per-attempt timeout
 * (a clock timer: the attempt fails with TIMEOUT at once, whatever the source does with its
 * aborted signal) → the slots are given back. Unsubscribing before it settles aborts the
 * call's signal with the run's stop reason. One subscription per try.
 */
export function attempt$(owner: AttemptOwner, call: BoundCall, batch: { index: number; count: number }, n: number): Observable<AttemptOutput> {
  return new Observable<AttemptOutput>((subscriber) => {
    const env = owner.env;
    const breaker = env.guards.breaker;
    if (breaker && !breaker.tryPass()) {
      // An open circuit fails at once: no slot taken, no network touched.
      const error = circuitOpen(owner, n);
      owner.attemptFailed(n, error);
      subscriber.error(error);
      return undefined;
    }
    let done = false;
    let sourceTicket: LaneTicket | undefined;
    let globalTicket: LaneTicket | undefined;
    let sourceCall: SourceCall | undefined;
    let timer: TimerHandle | undefined;
    let rejectedByCircuit = false;

    /**
     * Gives the slots back. After a failure, on the next microtask: the failure must reach
     * its fragment (a fail-fast stop, an opening circuit) before a waiting call takes the slot.
     */
    const end = (later: boolean): void => {
      done = true;
      if (timer !== undefined) env.clock.clearTimeout(timer);
      globalTicket?.release(later);
      sourceTicket?.release(later);
    };
    const record = (success: boolean): void => {
      const transition = breaker?.record(success);
      if (transition) owner.circuitChanged(transition);
    };
    const succeed = (output: CallOutput): void => {
      if (done) return;
      end(false);
      record(true);
      env.guards.budget?.recordSuccess(n > 1);
      subscriber.next({ rows: output.rows, count: output.count, stopped: output.stopped, attempts: n });
      subscriber.complete();
    };
    const fail = (raw: unknown): void => {
      if (done) return;
      done = true;
      const error = toFragmentError(raw, { fragmentId: owner.id, sourceName: env.sourceName, source: env.source, attempt: n });
      // Only failures that say "the source is unwell" count against its circuit; a rejected
      // query (syntax, permission) proves the source answered.
      if (!rejectedByCircuit && (!sourceCall?.aborted || error.code === 'TIMEOUT')) record(!error.retryable);
      owner.attemptFailed(n, error);
      end(true);
      subscriber.error(error);
    };
    const onTimeout = (): void => {
      timer = undefined;
      // A streaming call is timed to its first batch; after that a slow consumer, not the
      // source, sets the pace (the fragment's deadline still bounds it).
      if (owner.streamed || done) return;
      const error = new TributaryError('TIMEOUT', `attempt ${n} of fragment "${owner.id}" took longer than ${owner.timeoutMs} ms`);
      sourceCall?.abort(error);
      fail(error);
    };
    const begin = (): void => {
      if (done) return;
      // The circuit may have opened while this call waited for its slots: fail now, without
      // counting it against the breaker, rather than send one more request to a dead source.
      if (breaker && breaker.state() === 'open') {
        rejectedByCircuit = true;
        fail(circuitOpen(owner, n));
        return;
      }
      owner.attemptStarted(n, batch);
      sourceCall = new SourceCall(
        env.source,
        call.query,
        {
          params: call.params,
          principal: env.principal,
          fragmentId: owner.id,
          limits: env.limits,
          onRemote: (info) => env.events.wanted && env.events.emit({ type: 'fragment.remote', queryId: env.queryId, at: env.at(), fragmentId: owner.id, source: env.sourceName, level: owner.level, attempt: n, ...info }),
        },
        owner.streaming,
      );
      if (Number.isFinite(owner.timeoutMs)) timer = env.clock.setTimeout(onTimeout, owner.timeoutMs);
      sourceCall.run().then(succeed, fail);
    };

    // `begin` may run (and even end) inside `acquire`: a ticket that comes back after the
    // attempt ended is handed back at once.
    sourceTicket = env.lanes.source.acquire(() => {
      globalTicket = env.lanes.global.acquire(begin);
      if (done) globalTicket.release();
    });
    if (done) sourceTicket.release();
    return () => {
      if (done) return;
      done = true;
      if (timer !== undefined) env.clock.clearTimeout(timer);
      sourceCall?.abort(env.abortReason());
      // Handed back on the next microtask: a stopping query releases all its slots in one sweep.
      globalTicket?.release(true);
      sourceTicket?.release(true);
    };
  });
}
