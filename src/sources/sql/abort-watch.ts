import type { ExecuteContext } from '../source.js';

/**
 * Abort handling for a SQL connector's fast calls without an AbortSignal per call.
 *
 * tributary's own contexts make their AbortController only when `ctx.signal` is read, and
 * a controller plus a listener pair is a measurable share of a point query. So a call that
 * may still be aborted is first only *registered*. One shared timer ticks every
 * `TICK_MS` while calls are registered; a call still running after a whole tick has passed
 * since it registered (two generations: registered before the last tick → armed at this one)
 * is armed: it reads `ctx.signal` (an already-aborted call sees it aborted) and listens to
 * it from then on. A statement that finishes within its first tick — nearly every point
 * query, even when a busy event loop runs late — never creates a signal (arming everything
 * in flight at each tick would arm most calls under load: a tick lands in the middle of
 * many calls). The price: an abort in a call's first one or two milliseconds reaches the
 * connector (and the server's cancel) that much late; the executor does not wait for it
 * (its attempt ends when it aborts the call).
 *
 * A foreign context (no `aborted` flag: its signal exists anyway) is armed at once.
 */

const TICK_MS = 1;
/**
 * A planned tick this overdue never came: fake timers (a test's) were swapped out under it.
 * A new one is planned, so aborts keep arriving; the lost one is ignored if it ever fires.
 */
const LOST_TICK_MS = 1000;

/** Registered since the last tick. */
let young = new Set<AbortWatch>();
/** Registered before the last tick: armed at the next one. */
let old = new Set<AbortWatch>();
/** When the planned tick is due (`performance.now()`); 0: none planned. */
let tickDue = 0;

function planTick(): void {
  const due = performance.now() + TICK_MS;
  tickDue = due;
  setTimeout(() => {
    if (tickDue === due) tick();
  }, TICK_MS).unref();
}

function tick(): void {
  const due = old;
  old = young;
  young = due.size === 0 ? due : new Set();
  // The next tick is planned before arming, which runs callbacks.
  tickDue = 0;
  if (old.size > 0) planTick();
  // Arming may settle a call, which stops (deletes) its own watch: `due` is detached already.
  for (const watch of due) watch.arm();
}

function register(watch: AbortWatch): Set<AbortWatch> {
  young.add(watch);
  if (tickDue === 0 || performance.now() - tickDue > LOST_TICK_MS) planTick();
  return young;
}

/** True once the call was aborted, without creating its signal when the context says so. */
export function isAborted(ctx: ExecuteContext): boolean {
  return ctx.aborted ?? ctx.signal.aborted;
}

/** Throws the call's abort reason if it was aborted. */
export function throwIfAborted(ctx: ExecuteContext): void {
  if (isAborted(ctx)) throw ctx.signal.reason;
}

/**
 * One call's abort watch: `onAbort(reason)` runs once if the call aborts before `stop()`.
 * It is its own event listener object (`handleEvent`), so arming allocates no closure.
 */
export class AbortWatch {
  readonly #ctx: ExecuteContext;
  readonly #onAbort: (reason: unknown) => void;
  #listening = false;
  #stopped = false;
  /** The generation it waits in, until armed. */
  #waitingIn: Set<AbortWatch> | undefined;

  /** Watches `ctx`; if it is already aborted, `onAbort` runs at once (synchronously). */
  constructor(ctx: ExecuteContext, onAbort: (reason: unknown) => void) {
    this.#ctx = ctx;
    this.#onAbort = onAbort;
    if (ctx.aborted === false) {
      this.#waitingIn = register(this);
    } else {
      this.arm();
    }
  }

  /** Listens to the call's signal from now on (see the file comment). */
  arm(): void {
    this.#waitingIn = undefined;
    if (this.#stopped) return;
    const signal = this.#ctx.signal;
    if (signal.aborted) {
      this.handleEvent();
      return;
    }
    signal.addEventListener('abort', this, { once: true });
    this.#listening = true;
  }

  handleEvent(): void {
    if (this.#stopped) return;
    this.stop();
    this.#onAbort(this.#ctx.signal.reason);
  }

  /** No more `onAbort`; idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#listening) this.#ctx.signal.removeEventListener('abort', this);
    else this.#waitingIn?.delete(this);
  }
}
