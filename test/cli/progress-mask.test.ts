import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createExecutor, sqliteSource } from '../../src/index.js';
import { showProgress } from '../../src/cli/progress-bar.js';
import type { CliIo } from '../../src/cli/io.js';

describe('tributary run progress lines', () => {
  it('show a source error that echoes a run param with the value masked', async () => {
    let written = '';
    const stderr = new PassThrough();
    stderr.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const io: CliIo = { stdout: new PassThrough(), stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() };
    const executor = createExecutor({ sources: { lite: sqliteSource({ file: ':memory:' }) }, retry: { attempts: 2, initialDelayMs: 1, jitter: 'none' } });
    try {
      const plan = { id: 'q', fragments: [{ id: 'f', source: 'lite', query: { sql: "SELECT json_extract('{}', ?) AS x", params: [{ $param: 'ssn' }] } }] };
      const run = executor.run(plan, { params: { ssn: 'SSN-321-54-9876' } });
      const progress = showProgress(run, { fragments: 1, levels: 1 }, io, 'lines', (text) => text);
      const result = await run.result;
      progress.stop();
      expect(result.errors[0]!.message).toContain("bad JSON path: 'SSN-321-54-9876'");
      expect(written).toContain("bad JSON path: '[param]'");
      expect(written).not.toContain('SSN-321-54-9876');
    } finally {
      await executor.close();
    }
  });
});
