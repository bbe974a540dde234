import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, httpSource, type Recording } from '../../src/index.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';

/*
 * A recording made through the library is a file a user hands around (an incident, a bug
 * report): the texts a source's errors put in it are masked as the command line masks them —
 * URL passwords, `Bearer`/`Basic` credentials, `password=`/`token=`/`api_key=` values — unless
 * the run says otherwise. The API here answers 401 echoing credentials, as careless servers do.
 * (The plan itself is recorded in clear: a secret belongs in a source's options, not in a plan.)
 */
const TOKEN = 'tok_Zr8Kq2Lm5Np7';
const API_KEY = 'sk-live-4f9a8b7c6d';
const URL_PASSWORD = 'pw-Hunter2-xyz';
let server: TestHttpServer;

beforeAll(async () => {
  server = await startHttpServer({
    'GET /x': (req, res) => {
      res.statusCode = 401;
      res.end(`bad credentials: ${req.headers.authorization ?? ''} (api_key=${API_KEY}) for postgres://app:${URL_PASSWORD}@db.internal/shop`);
    },
  });
});
afterAll(() => server.close());

const plan = { id: 'leaky', fragments: [{ id: 'a', source: 'api', query: { path: '/x' } }] };
const executor = () => createExecutor({ sources: { api: httpSource({ baseUrl: server.url, headers: { authorization: `Bearer ${TOKEN}` } }) }, retry: { attempts: 1 } });

async function recorded(record: unknown): Promise<{ recording: Recording; message: string }> {
  const e = executor();
  try {
    const run = e.run(plan, { record } as { record: true });
    const result = await run.result;
    expect(result.status).toBe('failed');
    return { recording: run.recording()!, message: result.errors[0]!.message };
  } finally {
    await e.close();
  }
}

describe('recordings made through the library', () => {
  it('mask the credentials a source error echoes, by default', async () => {
    const { recording, message } = await recorded(true);
    // The run's own error is the source's: an HTTP error body's excerpt has the source's
    // credentials (its header values, credential patterns) masked by the source itself.
    expect(message).toContain('bad credentials: *** (api_key=*** for postgres://app:***@db.internal/shop');
    const text = JSON.stringify(recording);
    for (const secret of [TOKEN, API_KEY, URL_PASSWORD]) expect(text).not.toContain(secret);
    const call = recording.calls[0]!;
    expect(call.outcome).toBe('error');
    if (call.outcome !== 'error') return;
    expect(call.error.message).toContain('bad credentials: *** (api_key=*** for postgres://app:***@db.internal/shop');
    // The masked recording still replays to the same outcome.
    const replay = await createExecutor().replay(recording).result;
    expect(replay.status).toBe('failed');
    expect(replay.errors[0]).toMatchObject({ code: call.error.code, message: expect.stringContaining(call.error.message) });
  });

  it('apply the run\'s own redactor after the default one, or keep the raw texts with redact: false', async () => {
    const own = await recorded({ redact: (text: string) => text.replaceAll('db.internal', '[host]') });
    const message = JSON.stringify(own.recording.calls[0]);
    expect(message).toContain('postgres://app:***@[host]/shop');
    expect(message).not.toContain(TOKEN);

    // Raw: the source's own text, which the source masked already; the run's redactor not applied.
    const raw = JSON.stringify((await recorded({ redact: false })).recording.calls[0]);
    expect(raw).toContain('postgres://app:***@db.internal/shop');
    expect(raw).not.toContain(TOKEN);
  });

  it('reject a record option that is neither a boolean nor { redact }', () => {
    const e = createExecutor({ sources: { api: httpSource({ baseUrl: server.url }) } });
    for (const record of ['yes', { redact: 'no' }, { other: 1 }]) {
      expect(() => e.run(plan, { record } as unknown as { record: true })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
    }
    return e.close();
  });
});
