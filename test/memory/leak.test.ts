import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('memory hygiene', () => {
  it('keeps nothing of 1,000 finished runs once their results are dropped', () => {
    const script = fileURLToPath(new URL('./leak-script.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], { encoding: 'utf8', timeout: 120_000 });
    expect(child.status, child.stderr).toBe(0);
    const { collected, growthBytes } = JSON.parse(child.stdout.trim().split('\n').pop()!) as { collected: number; growthBytes: number };
    // Every run and every result object was garbage-collected (2 registrations per run)...
    expect(collected).toBeGreaterThanOrEqual(1990);
    // ...and the heap did not grow with the runs: 1,000 retained results of 200 rows would be
    // tens of megabytes; allow a little for lazily compiled code and caches.
    expect(growthBytes).toBeLessThan(8 * 1024 * 1024);
  }, 150_000);
});
