import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, type ExecutionEvent, type Executor } from '../../src/index.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';

/*
 * An error response's excerpt masks the request's header values: however the server splits
 * its body into chunks — a token cut by a chunk's end is still a secret, and its first part
 * may not show.
 */
const TOKEN = 'tk0f3a9c21d7e54b6a8812c0ffee19d4';

describe('httpSource error excerpts', () => {
  let executor: Executor | undefined;
  let server: TestHttpServer | undefined;
  afterEach(async () => {
    await executor?.close();
    await server?.close();
    executor = server = undefined;
  });

  it('mask a header value the server echoes across two chunks of its body', async () => {
    server = await startHttpServer({
      'GET /v1/people': async (_req, res) => {
        res.writeHead(401, { 'content-type': 'text/plain' });
        res.write(`invalid token ${TOKEN.slice(0, 24)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        res.end(`${TOKEN.slice(24)} for this key`);
      },
    });
    executor = createExecutor({ cache: false, retry: { attempts: 1 }, sources: { api: httpSource({ baseUrl: `${server.url}/v1`, headers: { 'x-api-key': TOKEN } }) } });
    const events: ExecutionEvent[] = [];
    executor.events$.subscribe((e) => events.push(e));
    const result = await executor.execute({ fragments: [{ id: 'f', source: 'api', query: { path: '/people' } }] });
    expect(result.status).toBe('failed');
    const message = result.errors[0]!.message;
    expect(message).toContain('401');
    for (const text of [message, JSON.stringify(events)]) expect(text).not.toContain(TOKEN.slice(0, 12));
  });
});
