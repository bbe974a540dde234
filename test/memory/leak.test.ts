import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Runs a script of this folder in a child process with --expose-gc; its last line, parsed. */
function child<T>(script: string): T {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path], { encoding: 'utf8', timeout: 120_000 });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as T;
}

describe('memory hygiene', () => {
  it('keeps nothing of 1,000 finished runs once their results are dropped', () => {
    const { collected, growthBytes } = child<{ collected: number; growthBytes: number }>('./leak-script.ts');
    // Every run and every result object was garbage-collected (2 registrations per run)...
    expect(collected).toBeGreaterThanOrEqual(1990);
    // ...and the heap did not grow with the runs: 1,000 retained results of 200 rows would be
    // tens of megabytes; allow a little for lazily compiled code and caches.
    expect(growthBytes).toBeLessThan(8 * 1024 * 1024);
  }, 150_000);

  it('keeps nothing of runs cancelled while they waited for a slot another call still holds', () => {
    const { alive, queued } = child<{ alive: number; queued: number }>('./queued-leak-script.ts');
    expect(queued).toBe(0);
    // Before: all 300, each reachable from its lane's queue until the slot came back.
    expect(alive).toBe(0);
  }, 150_000);
});
