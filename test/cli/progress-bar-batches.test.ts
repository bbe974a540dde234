import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { showProgress } from '../../src/cli/progress-bar.js';
import type { CliIo } from '../../src/cli/io.js';
import { collectEvents, ofType } from '../support/engine.js';
import { openGatedBatches, type GatedBatches } from '../support/gated-batches.js';
import { describeWithServer, eventually, requireServer } from '../support/servers.js';

const pgCheck = await requireServer('postgres');

/** A terminal's stderr: what the bar draws, its frames split on carriage returns, escapes stripped. */
function terminal(): { io: CliIo; frames(): string[] } {
  const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 400 });
  let output = '';
  stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const io: CliIo = { stdout: new PassThrough(), stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() };
  return {
    io,
    // A frame starts where the cursor goes back to the line's start (`ESC [ 1 G`, cli-progress's cursorTo(0)).
    // eslint-disable-next-line no-control-regex -- stripping terminal escapes
    frames: () => output.split(/\x1b\[1G|\r|\n/).map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '')).filter((l) => l.includes(' fragments: ')),
  };
}

describeWithServer(pgCheck, 'the CLI progress bar during a batched bind join, on a real PostgreSQL', () => {
  let batches: GatedBatches;

  beforeAll(async () => {
    batches = await openGatedBatches('bar_batches');
  });
  afterAll(async () => {
    await batches?.close();
  });

  it('keeps a fragment in `running` while one batch waits to retry and another batch still runs', async () => {
    await batches.hold();
    const { io, frames } = terminal();
    const run = batches.executor.run(batches.plan);
    const events = collectEvents(run);
    const progress = showProgress(run, { fragments: 2, levels: 2 }, io, 'bar', (s) => s);
    try {
      // Batch 1 failed and waits for its retry; batch 0 waits on the server for the gate.
      expect(await eventually(() => Promise.resolve(ofType(events, 'fragment.retrying').length === 1), 10_000, 20)).toBe(true);
      expect(await batches.blocked()).toBe(true);
      expect(ofType(events, 'fragment.attempt.failed').map((e) => e.batch.index)).toEqual([1]);
      // The bar redraws on its own timer: wait for a frame drawn after the retry was counted.
      expect(await eventually(() => Promise.resolve(frames().some((f) => f.includes('retries: 1'))), 10_000, 20)).toBe(true);
      expect(frames().at(-1)).toMatch(/\| running: pg \| retries: 1 \|/);
    } finally {
      await batches.release();
      run.cancel('test over');
      await run.result.catch(() => undefined);
      progress.stop();
    }
  }, 30_000);
});
