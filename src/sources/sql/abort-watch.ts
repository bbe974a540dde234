import type { AbortListener, ExecuteContext } from '../source.js';

/** True once the call was aborted, without creating its signal when the context says so. */
export function isAborted(ctx: ExecuteContext): boolean {
  return ctx.aborted ?? ctx.signal.aborted;
}

/** Throws the call's abort reason if it was aborted. */
export function throwIfAborted(ctx: ExecuteContext): void {
  if (isAborted(ctx)) throw ctx.signal.reason;
}

/**
 * One call's abort watch for a SQL connector: `onAbort(reason)` runs once if the call aborts
 * before `stop()` (at once if it already was). On tributary's own contexts it registers
 * through `ctx.onAbort`, so a point query never creates its AbortSignal (a controller plus
 * a listener pair is a measurable share of one); a context without `onAbort` is watched
 * through its signal. It is its own listener object in both cases, so watching allocates no
 * closure.
 */
export class AbortWatch implements AbortListener {
  readonly #ctx: ExecuteContext;
  readonly #onAbort: (reason: unknown) => void;
  readonly #hooked: boolean;
  #stopped = false;

  constructor(ctx: ExecuteContext, onAbort: (reason: unknown) => void) {
    this.#ctx = ctx;
    this.#onAbort = onAbort;
    this.#hooked = ctx.onAbort !== undefined && ctx.offAbort !== undefined;
    if (this.#hooked) {
      ctx.onAbort!(this);
      return;
    }
    const signal = ctx.signal;
    if (signal.aborted) this.aborted(signal.reason);
    else signal.addEventListener('abort', this, { once: true });
  }

  aborted(reason: unknown): void {
    if (this.#stopped) return;
    this.stop();
    this.#onAbort(reason);
  }

  /** The signal's listener (a context without `onAbort`). */
  handleEvent(): void {
    this.aborted(this.#ctx.signal.reason);
  }

  /** No more `onAbort`; idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#hooked) this.#ctx.offAbort!(this);
    else this.#ctx.signal.removeEventListener('abort', this);
  }
}
