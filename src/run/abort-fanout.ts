/**
 * One `abort` listener per caller's AbortSignal, however many runs share it. A service
 * commonly hands one signal (its shutdown, a request's) to many runs at once; a listener
 * per run made Node print a MaxListenersExceededWarning ("Possible EventTarget memory leak
 * detected") from the eleventh run on, though nothing leaked. Here the signal gets one
 * listener that calls every run's own; the last run to leave takes it off again.
 */

interface Watch {
  readonly listeners: Set<() => void>;
  readonly fire: () => void;
}

const watches = new WeakMap<AbortSignal, Watch>();

/**
 * Calls `listener` once when `signal` aborts; returns what stops that (idempotent). The
 * signal must not have aborted yet (an aborted signal never fires again).
 */
export function onSignalAbort(signal: AbortSignal, listener: () => void): () => void {
  let watch = watches.get(signal);
  if (!watch) {
    const listeners = new Set<() => void>();
    const fire = (): void => {
      watches.delete(signal);
      const all = [...listeners];
      listeners.clear();
      // Every run hears it, even if one listener throws (the first error is then reported as a listener's would be).
      let failed: { error: unknown } | undefined;
      for (const each of all) {
        try {
          each();
        } catch (error) {
          failed ??= { error };
        }
      }
      if (failed) throw failed.error;
    };
    watch = { listeners, fire };
    watches.set(signal, watch);
    signal.addEventListener('abort', fire, { once: true });
  }
  // A wrapper of its own, so the same function registered twice is two registrations.
  const own = (): void => listener();
  const { listeners, fire } = watch;
  listeners.add(own);
  return () => {
    if (!listeners.delete(own) || listeners.size > 0) return;
    signal.removeEventListener('abort', fire);
    if (watches.get(signal)?.fire === fire) watches.delete(signal);
  };
}

