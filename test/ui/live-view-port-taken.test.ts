import { createServer, type Server } from 'node:net';
import { Observable } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor, memorySource, type ExecutionEvent, type Executor } from '../../src/index.js';
import { createLiveView } from '../../src/ui/index.js';

/**
 * A live view whose port is taken fails to start, and leaves nothing behind on the executor
 * it was given: no subscription to its events (an executor a service keeps would feed a view
 * nobody can see for its whole life) and no sampling of its metrics.
 */
let executor: Executor;
let taken: Server;

beforeAll(async () => {
  executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ a: 1 }] } }) } });
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => taken.close(() => resolve()));
  await executor.close();
});

it('a view on a port in use rejects and unsubscribes from the executor it watched', async () => {
  let subscribed = 0;
  let samples = 0;
  const watched = {
    events$: new Observable<ExecutionEvent>((subscriber) => {
      subscribed += 1;
      const inner = executor.events$.subscribe(subscriber);
      return () => {
        subscribed -= 1;
        inner.unsubscribe();
      };
    }),
    metrics: () => {
      samples += 1;
      return executor.metrics();
    },
  };
  const port = (taken.address() as { port: number }).port;
  await expect(createLiveView(watched, { port, lanesIntervalMs: 5 })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  expect(subscribed).toBe(0);
  const before = samples;
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(samples).toBe(before);
});
