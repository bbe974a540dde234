import type { ExecutionEvent } from '../../src/progress/events.js';

/** An `onEvent` that runs `act` on the first event passing `test`, and never again. */
export function once(test: (e: ExecutionEvent) => boolean, act: () => void): (e: ExecutionEvent) => void {
  let done = false;
  return (e) => {
    if (!done && test(e)) {
      done = true;
      act();
    }
  };
}

/** The first failed attempt of any fragment. */
export const firstFailure = (e: ExecutionEvent): boolean => e.type === 'fragment.attempt.failed';

/** The driver codes of every failed attempt, in order. */
export const driverCodes = (events: ExecutionEvent[]): (string | undefined)[] =>
  events.flatMap((e) => (e.type === 'fragment.attempt.failed' ? [e.error.driverCode] : []));
