/**
 * Stops a statement from outside its connection, escalating: `cancel` (pg_cancel_backend,
 * KILL QUERY), then, when the statement has not finished within `graceMs` (a cancel that
 * raced ahead of the statement's start cancels nothing), `end` its session
 * (pg_terminate_backend, KILL CONNECTION).
 */
export async function stopStatement(
  finished: Promise<void>,
  graceMs: number,
  cancel: () => Promise<void>,
  end: () => Promise<void>,
): Promise<void> {
  await cancel();
  if (await settlesWithin(finished, graceMs)) return;
  await end();
}

/** Resolves after `ms` or once `promise` settles, whichever is first; true if it settled. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(done, done);
  });
}
