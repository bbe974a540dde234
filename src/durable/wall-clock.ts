import { systemClock, type Clock, type TimerHandle } from '../execution/clock.js';

/**
 * The time a run store is given (`now`: epoch ms, what leases and `createdAt` are stored in),
 * read off the executor's clock. The system clock gives `Date.now()`; any other clock (a
 * `createVirtualClock()` in tests) is anchored once to the wall clock — the epoch ms at which
 * it was first read here, minus its reading then — so its time moves the stored times too:
 * lease expiry, lease renewal and how long a finished run stays listed follow it, and two
 * executors sharing one clock agree. @internal
 */
export interface RunClock {
  /** Epoch ms on the executor's clock. */
  now(): number;
  /** Calls `fn` every `ms` on the executor's clock (unref'd on the system's); returns the stop. */
  every(ms: number, fn: () => void): () => void;
}

const anchors = new WeakMap<Clock, number>();

export function runClock(clock: Clock = systemClock): RunClock {
  let now: () => number;
  if (clock === systemClock) now = () => Date.now();
  else {
    let anchor = anchors.get(clock);
    if (anchor === undefined) {
      anchor = Date.now() - clock.now();
      anchors.set(clock, anchor);
    }
    const offset = anchor;
    now = () => offset + clock.now();
  }
  return {
    now,
    every(ms, fn) {
      let handle: TimerHandle;
      let stopped = false;
      const arm = (): void => {
        handle = clock.setTimeout(() => {
          if (stopped) return;
          arm();
          fn();
        }, ms);
        (handle as { unref?: () => void } | undefined)?.unref?.();
      };
      arm();
      return () => {
        stopped = true;
        clock.clearTimeout(handle);
      };
    },
  };
}
