import { bindjoin } from './bindjoin.js';
import { cache } from './cache.js';
import { latency } from './latency.js';
import { load } from './load.js';
import { loadControl } from './load-control.js';
import { memory } from './memory.js';
import { merge } from './merge.js';
import { orchestration } from './orchestration.js';
import { remote } from './remote-group.js';
import { runCost } from './run-cost.js';
import { service } from './service.js';
import type { BenchContext, GroupResult } from './report.js';
import { report } from './spawn.js';

/** Every benchmark group: the ids it reports, its file, and how to run it. */
export const GROUPS: { ids: string[]; file: string; run: (ctx: BenchContext) => Promise<GroupResult> }[] = [
  { ids: ['a1', 'a2'], file: 'orchestration', run: orchestration },
  { ids: ['b'], file: 'latency', run: latency },
  { ids: ['c'], file: 'merge', run: merge },
  { ids: ['d'], file: 'cache', run: cache },
  { ids: ['e'], file: 'bindjoin', run: bindjoin },
  { ids: ['f'], file: 'memory', run: memory },
  { ids: ['g'], file: 'remote', run: remote },
  { ids: ['h'], file: 'load', run: load },
  { ids: ['i'], file: 'run-cost', run: runCost },
  { ids: ['j'], file: 'load-control', run: loadControl },
  { ids: ['k'], file: 'service', run: service },
];

/** In a bench child: runs one group with the parent's context and reports its result. */
export async function groupChild([file, context]: string[]): Promise<void> {
  const group = GROUPS.find((g) => g.file === file);
  if (!group || context === undefined) throw new Error(`bench child "group": unknown group ${JSON.stringify(file)}`);
  const { pg, rttMs } = JSON.parse(context) as Pick<BenchContext, 'pg' | 'rttMs'>;
  const t0 = performance.now();
  const log = (message: string): void => {
    process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${file}: ${message}\n`);
  };
  report(await group.run({ pg, rttMs, log }));
}
