/**
 * A circuit breaker per source. `closed`: calls go through and consecutive failures are
 * counted; at `failureThreshold` it opens. `open`: calls fail at once (no slot, no network)
 * until `resetTimeoutMs` has passed; calls sent before it opened that end meanwhile change
 * nothing. `half-open`: exactly one probe call goes through; its success closes the
 * circuit, its failure opens it again.
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
  /**
   * Whether a call may go now: `false` (open, or half-open with its probe out), `true`
   * (closed), or — half-open — the probe's number (from 1), which the call must either
   * report with `record` or give back with `releaseProbe`.
   */
  tryPass(): boolean | number;
  /** Reports a call's outcome; returns the transition it caused, if any. */
  record(success: boolean): CircuitTransition;
  /**
   * Gives back probe `probe` when its call will never report (cancelled while it waited or
   * ran, shed by its lane): the next call is the probe. A probe already superseded is ignored.
   */
  releaseProbe(probe: number): void;
  state(): CircuitState;
  consecutiveFailures(): number;
}

/** Creates a closed circuit; `now` is injectable for tests. */
export function createCircuitBreaker(options: Partial<CircuitBreakerOptions> = {}, now: () => number = Date.now): CircuitBreaker {
  const o = { ...defaultCircuitBreaker, ...options };
  let state: CircuitState = 'closed';
  let failures = 0;
  let openedAt = 0;
  /** The probe out in half-open (its number), or 0. */
  let probeOut = 0;
  let probes = 0;

  const current = (): CircuitState => {
    if (state === 'open' && now() - openedAt >= o.resetTimeoutMs) {
      state = 'half-open';
      probeOut = 0;
    }
    return state;
  };

  return {
    tryPass() {
      const s = current();
      if (s === 'closed') return true;
      if (s === 'open' || probeOut !== 0) return false;
      probeOut = ++probes;
      return probeOut;
    },
    record(success) {
      const s = current();
      // A call let through before the circuit opened ends during its cool-down: it says
      // nothing that the probe will not (only the probe closes it), and the circuit stays open.
      if (s === 'open') return undefined;
      if (success) {
        failures = 0;
        if (s !== 'closed') {
          state = 'closed';
          probeOut = 0;
          return 'closed';
        }
        return undefined;
      }
      failures++;
      if (s === 'half-open' || (s === 'closed' && failures >= o.failureThreshold)) {
        state = 'open';
        openedAt = now();
        probeOut = 0;
        return 'opened';
      }
      return undefined;
    },
    releaseProbe(probe) {
      if (state === 'half-open' && probeOut === probe) probeOut = 0;
    },
    state: current,
    consecutiveFailures: () => failures,
  };
}
