import { EXIT } from './io.js';

/**
 * The signals that stop a run: Ctrl-C (SIGINT) and `kill` (SIGTERM: a process manager, `timeout`,
 * a CI runner cancelling a job). Either cancels the run, so each statement in flight is cancelled on
 * its server (a client that just dies leaves a MariaDB statement running to its end), then the
 * command exits 128 + the signal's number, as a shell reports a process the signal ended.
 */
export const STOP_SIGNALS = { SIGINT: { exit: EXIT.interrupted, said: 'interrupted' }, SIGTERM: { exit: EXIT.terminated, said: 'terminated (SIGTERM)' } } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * Calls `stop` with the first stop signal the process receives (a second one ends the process as
 * the signal does by default: a user pressing Ctrl-C twice means it). Returns the function that
 * removes the listeners, idempotent.
 */
export function onStopSignal(stop: (signal: StopSignal) => void): () => void {
  const names = Object.keys(STOP_SIGNALS) as StopSignal[];
  const listeners = names.map((name) => {
    const listener = (): void => {
      dispose();
      stop(name);
    };
    process.once(name, listener);
    return [name, listener] as const;
  });
  const dispose = (): void => {
    for (const [name, listener] of listeners) process.removeListener(name, listener);
  };
  return dispose;
}
