import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/** A timer handle, as the clock that made it understands it. */
export type TimerHandle = unknown;

/**
 * Where an executor reads time and sets timers: per-attempt timeouts, deadlines, retry
 * backoff, circuit cool-downs and quota windows all go through it. The default is the
 * system's; tests pass `createVirtualClock()` and move time by hand.
 */
export interface Clock {
  /** Milliseconds, monotonic (any origin). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The system's clock: `performance.now()` and the global timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * The clock as an RxJS scheduler, so `timer(ms, scheduler)` and the `retry` operator's
 * delays run on it (virtual time included). One clock timer per scheduled action, cleared
 * when its subscription ends: cheaper than RxJS's own `asyncScheduler`, which keeps an
 * interval per action.
 */
export function clockScheduler(clock: Clock): SchedulerLike {
  return {
    now: () => clock.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      const subscription = new Subscription();
      const action = Object.assign(subscription, {
        schedule(nextState?: T, nextDelay = 0): Subscription {
          subscription.add(clockScheduler(clock).schedule(work, nextDelay, nextState));
          return subscription;
        },
      }) as SchedulerAction<T>;
      const handle = clock.setTimeout(() => {
        if (!subscription.closed) work.call(action, state);
      }, delay);
      subscription.add(() => clock.clearTimeout(handle));
      return subscription;
    },
  };
}

/** A clock whose time moves only when told to. */
export interface VirtualClock extends Clock {
  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void;
  /** Moves time to the next timer and fires it; false when none is pending. */
  next(): boolean;
  /** Timers set and not yet fired or cleared. */
  pending(): number;
  /**
   * Moves time forward by `ms` the way the program would live through it: before each timer
   * fires, and at the end, pending promise callbacks and I/O callbacks run, so a timer set
   * by what a fired one started (the next retry's delay) falls due within the same call.
   */
  advanceAsync(ms: number): Promise<void>;
}

/** Lets promise callbacks and immediates run (no real time passes). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface VirtualTimer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A virtual clock for tests: backoff, timeouts, deadlines and cool-downs happen when the
 * test advances time, never by waiting. Timers due at the same instant fire in the order
 * they were set; a timer set by a firing callback for `now` fires in the same `advance`.
 *
 * @example
 * const clock = createVirtualClock();
 * const executor = createExecutor({ sources, clock });
 * const result = executor.execute(plan);
 * clock.advance(2_000); // every retry delay and timeout up to 2 s has happened
 */
export function createVirtualClock(start = 0): VirtualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, VirtualTimer>();
  const due = (limit: number): VirtualTimer | undefined => {
    let first: VirtualTimer | undefined;
    for (const t of timers.values()) if (t.at <= limit && (!first || t.at < first.at || (t.at === first.at && t.seq < first.seq))) first = t;
    return first;
  };
  const fire = (t: VirtualTimer): void => {
    timers.delete(t.seq);
    now = Math.max(now, t.at);
    t.callback();
  };
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), seq: id, callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const target = now + ms;
      for (let t = due(target); t; t = due(target)) fire(t);
      now = target;
    },
    next() {
      const t = due(Infinity);
      if (!t) return false;
      fire(t);
      return true;
    },
    pending: () => timers.size,
    async advanceAsync(ms) {
      const target = now + ms;
      for (;;) {
        await settle();
        const t = due(target);
        if (!t) break;
        fire(t);
      }
      now = Math.max(now, target);
      await settle();
    },
  };
}
