import type { InspectionEvent } from 'xstate';

/** XState's `inspect` option: a function, or an observer whose `next` takes each event. */
export type Inspect = (event: InspectionEvent) => void;

/**
 * The executor's `inspect` option made safe to hand to every query actor. XState calls an
 * inspector inside its own transition: an inspector that throws (a bug in it, a closed
 * socket) would stop the query actor in the middle of a step, and the query would never
 * finish. The guard catches what it throws, and says so once per executor with a process
 * warning (`TRIBUTARY_INSPECT_FAILED`), so a broken inspector costs its own view, never a
 * query. @internal
 */
export function guardInspect(inspect: unknown): Inspect | undefined {
  if (inspect === undefined || inspect === null) return undefined;
  const call =
    typeof inspect === 'function'
      ? (inspect as (event: unknown) => void)
      : (event: unknown) => (inspect as { next?: (event: unknown) => void }).next?.(event);
  let warned = false;
  return (event) => {
    try {
      call(event);
    } catch (error) {
      if (warned) return;
      warned = true;
      process.emitWarning(`tributary: the inspect callback threw (${error instanceof Error ? error.message : String(error)}); queries go on, its later errors are not reported`, {
        code: 'TRIBUTARY_INSPECT_FAILED',
      });
    }
  };
}
