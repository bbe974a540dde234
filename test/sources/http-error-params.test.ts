import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, type ExecutionEvent, type Executor } from '../../src/index.js';
import { closedPort, reply, startHttpServer, type TestHttpServer } from '../support/http-server.js';

describe('httpSource errors seen by every watcher of the executor', () => {
  let executor: Executor | undefined;
  let server: TestHttpServer | undefined;
  afterEach(async () => {
    await executor?.close();
    await server?.close();
    executor = server = undefined;
  });

  const plan = {
    id: 'lookup',
    fragments: [{ id: 'person', source: 'api', query: { path: '/people', searchParams: { ssn: { $param: 'ssn' }, api_key: 'k-8f3a9c21d7' } } }],
  };

  async function failedRun(baseUrl: string): Promise<{ events: ExecutionEvent[]; spans: string; message: string }> {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    executor = createExecutor({ cache: false, retry: { attempts: 1 }, telemetry: { tracer: provider.getTracer('test') }, sources: { api: httpSource({ baseUrl }) } });
    const events: ExecutionEvent[] = [];
    executor.events$.subscribe((e) => events.push(e));
    const result = await executor.execute(plan, { params: { ssn: '078-05-1120' } });
    expect(result.status).toBe('failed');
    return { events, spans: JSON.stringify(exporter.getFinishedSpans().map((s) => s.events)), message: result.errors[0]!.message };
  }

  it('name the query string of an unreachable call without its values (a run param, an API key)', async () => {
    const { events, spans, message } = await failedRun(`http://127.0.0.1:${await closedPort()}/v1`);
    expect(message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/v1\/people\?ssn=…&api_key=… could not be reached/);
    for (const text of [JSON.stringify(events), spans, message]) {
      expect(text).not.toContain('078-05-1120');
      expect(text).not.toContain('k-8f3a9c21d7');
    }
  });

  it('do the same for a call answered with an error status', async () => {
    server = await startHttpServer({ '/v1/people': reply.json({ error: 'down' }, 500) });
    const { events, spans, message } = await failedRun(`${server.url}/v1`);
    expect(message).toContain('/v1/people?ssn=…&api_key=…');
    for (const text of [JSON.stringify(events), spans]) expect(text).not.toContain('078-05-1120');
  });

  it('mask the header values a server echoes in its error body; bound values as [param] beyond result.errors', async () => {
    // The server echoes everything it got: the headers, the token alone, the URL as sent.
    server = await startHttpServer({
      'GET /v1/people': (req, res) => {
        const token = String(req.headers.authorization).split(' ')[1];
        const echo = `bad key ${String(req.headers['x-api-key'])} (token ${token}, ${String(req.headers.authorization)}) for ${req.rawPath}${req.url.search}, ssn ${req.url.searchParams.get('ssn')}, name ${req.url.searchParams.get('name')}`;
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: echo }));
      },
    });
    const events: ExecutionEvent[] = [];
    const headers = (principal: { id: string } | undefined) => ({ 'x-api-key': 'k-8f3a9c21d7', authorization: `Bearer tok-${principal?.id ?? 'anon'}-55aa77` });
    executor = createExecutor({ cache: false, retry: { attempts: 1 }, sources: { api: httpSource({ baseUrl: `${server.url}/v1`, headers }) } });
    executor.events$.subscribe((e) => events.push(e));
    const query = { path: '/people', searchParams: { ssn: { $param: 'ssn' }, name: 'Zoë Émile' } };
    const result = await executor.execute({ fragments: [{ id: 'person', source: 'api', query }] }, { params: { ssn: '078-05-1120' }, principal: { id: 'alice' } });
    expect(result.status).toBe('failed');
    const message = result.errors[0]!.message;
    // The caller's own values stay in its result (as every echoed bound value does); the source's secrets never.
    expect(message).toContain('answered 401 Unauthorized: {"error":"bad key *** (token ***, ***) for /v1/people?ssn=078-05-1120&name=Zo%C3%AB+%C3%89mile, ssn 078-05-1120, name Zoë Émile"}');
    for (const text of [JSON.stringify(events), message]) {
      for (const secret of ['k-8f3a9c21d7', 'tok-alice-55aa77']) expect(text).not.toContain(secret);
    }
    const failed = events.find((e) => e.type === 'fragment.failed');
    expect(failed?.type === 'fragment.failed' && failed.error.message).toContain('ssn [param]');
    expect(JSON.stringify(events)).not.toContain('078-05-1120');
  });

  it('leave out the start of a body that is not JSON, which JSON.parse quotes (a server may echo a key there)', async () => {
    server = await startHttpServer({ 'GET /v1/people': (req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end(`key ${String(req.headers['x-api-key'])} unknown`) });
    const events: ExecutionEvent[] = [];
    executor = createExecutor({ cache: false, retry: { attempts: 1 }, sources: { api: httpSource({ baseUrl: `${server.url}/v1`, headers: { 'x-api-key': 'k-8f3a' } }) } });
    executor.events$.subscribe((e) => events.push(e));
    const result = await executor.execute({ fragments: [{ id: 'person', source: 'api', query: { path: '/people' } }] });
    expect(result.errors[0]).toMatchObject({ code: 'SOURCE_BAD_RESPONSE' });
    expect(result.errors[0]!.message).toContain(`GET ${server.url}/v1/people sent a body that is not JSON (Unexpected token 'k')`);
    for (const text of [JSON.stringify(events), result.errors[0]!.message]) expect(text).not.toContain('k-8f3a');
  });
});
