import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, type Executor } from '../../src/index.js';
import { createLiveView, type LiveView } from '../../src/ui/index.js';

/**
 * The live page serves one executor's queries, their error texts and events to whoever
 * connects to 127.0.0.1. A page of another site in the user's browser sends its own Origin:
 * it is refused, on the page and on the event stream, before anything is streamed.
 */
let executor: Executor;
let view: LiveView;

beforeAll(async () => {
  executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ a: 1 }] } }) } });
  view = await createLiveView(executor);
});
afterAll(async () => {
  await view.close();
  await executor.close();
});

/** The status and the first bytes of a GET with these headers. */
function get(path: string, headers: Record<string, string>): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, view.url), { headers }, (res) => {
      res.once('data', (chunk: Buffer) => {
        resolve({ status: res.statusCode, body: chunk.toString() });
        req.destroy();
      });
      res.once('end', () => resolve({ status: res.statusCode, body: '' }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('live view: only its own page, or no page, may ask', () => {
  it.each(['https://evil.example', 'http://127.0.0.1:1', `http://127.0.0.1.evil.example`, 'null'])('refuses Origin %s on the page and the stream', async (origin) => {
    for (const path of ['/', '/events']) {
      const answer = await get(path, { origin });
      expect(answer.status).toBe(403);
      expect(answer.body).toBe('forbidden origin\n');
    }
  });

  it('serves its own origin, localhost, and requests without an Origin', async () => {
    for (const origin of [`http://127.0.0.1:${view.port}`, `http://localhost:${view.port}`]) {
      expect((await get('/events', { origin })).status).toBe(200);
      expect((await get('/', { origin })).status).toBe(200);
    }
    expect((await get('/events', {})).status).toBe(200);
  });
});
