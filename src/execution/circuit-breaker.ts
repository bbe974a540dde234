/**
 * A circuit breaker per source. `closed`: calls go through and consecutive failures are
 * counted; at `failureThreshold` it opens. `open`: calls fail at once (no slot, no network)
 * until `resetTimeoutMs` has passed. `half-open`: exactly one probe call goes through; its
 * success closes the circuit, its failure opens it again.
 */
export interface CircuitBreakerOptions {
  /** Consecutive failed calls that open the circuit. Default 5. */
  failureThreshold: number;
  /** How long the circuit stays open before one probe is let through. Default 10 s. */
  resetTimeoutMs: number;
}

export const defaultCircuitBreaker: CircuitBreakerOptions = { failureThreshold: 5, resetTimeoutMs: 10_000 };

export type CircuitState = 'closed' | 'open' | 'half-open';

/** What a call may do, and whether the state just changed. */
export type CircuitTransition = 'opened' | 'closed' | undefined;

export interface CircuitBreaker {
  /** True if a call may go now (in half-open, only the one probe may). */
  tryPass(): boolean;
  /** Reports a call's outcome; returns the transition it caused, if any. */
  record(success: boolean): CircuitTransition;
  /** Gives back a half-open probe slot that was never used (the call was cancelled before it ran). */
  releaseProbe(): void;
  state(): CircuitState;
  consecutiveFailures(): number;
}

/** Creates a closed circuit; `now` is injectable for tests. */
export function createCircuitBreaker(options: Partial<CircuitBreakerOptions> = {}, now: () => number = Date.now): CircuitBreaker {
  const o = { ...defaultCircuitBreaker, ...options };
  let state: CircuitState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probeOut = false;

  const current = (): CircuitState => {
    if (state === 'open' && now() - openedAt >= o.resetTimeoutMs) {
      state = 'half-open';
      probeOut = false;
    }
    return state;
  };

  return {
    tryPass() {
      const s = current();
      if (s === 'closed') return true;
      if (s === 'open' || probeOut) return false;
      probeOut = true;
      return true;
    },
    record(success) {
      const s = current();
      if (success) {
        failures = 0;
        if (s !== 'closed') {
          state = 'closed';
          probeOut = false;
          return 'closed';
        }
        return undefined;
      }
      failures++;
      if (s === 'half-open' || (s === 'closed' && failures >= o.failureThreshold)) {
        state = 'open';
        openedAt = now();
        probeOut = false;
        return 'opened';
      }
      return undefined;
    },
    releaseProbe() {
      probeOut = false;
    },
    state: current,
    consecutiveFailures: () => failures,
  };
}
