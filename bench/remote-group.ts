import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchContext, GroupResult } from './report.js';
import { ROOT } from './spawn.js';

/**
 * g. Scale-out: CPU-heavy fragments on one vs two BullMQ worker processes (bench/remote.ts
 * runs in its own process, starting the workers it needs on the local Redis).
 */
export async function remote(ctx: BenchContext): Promise<GroupResult> {
  ctx.log('g: CPU-heavy fragments on 1 vs 2 BullMQ workers');
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/remote.ts')], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  const line = `${child.stdout}`.split('\n').find((l) => l.startsWith('remote:'));
  const match = line?.match(/1 worker (\d+) ms, 2 workers (\d+) ms, speed-up ×([\d.]+)/);
  if (!match) {
    const reason = `${child.stderr}`.trim().split('\n').pop() ?? 'no output';
    return { rows: [{ id: 'g', name: 'scale-out: CPU-heavy fragments, 1 ÷ 2 workers', measured: `skipped: ${reason}`, target: '—', met: undefined }], details: [] };
  }
  const [, one, two, speedup] = match;
  return {
    rows: [{ id: 'g', name: 'scale-out: CPU-heavy fragments, wall time on 1 worker ÷ on 2 workers', measured: `${speedup}×`, target: '— (2 cores)', met: undefined }],
    details: [`- g: ${line!.slice('remote: '.length)} (1 worker ${one} ms, 2 workers ${two} ms)`],
  };
}
