/* The entry of bench child processes: `node [flags] --import tsx bench/child.ts <task> [args…]`. */
import { groupChild } from './groups.js';
import { memoryChild } from './memory.js';
import { mergeChild } from './merge.js';
import { a1RunChild } from './orchestration.js';
import { profileChild } from './profile.js';
import { runCostChild } from './run-cost.js';
import { serviceChild } from './service.js';

const tasks: Record<string, (args: string[]) => Promise<void>> = {
  'a1-run': a1RunChild,
  group: groupChild,
  'i-run': runCostChild,
  profile: profileChild,
  merge: mergeChild,
  memory: memoryChild,
  service: serviceChild,
};

const [task, ...args] = process.argv.slice(2);
const run = task === undefined ? undefined : tasks[task];
if (!run) {
  process.stderr.write(`unknown bench child task ${JSON.stringify(task)}; one of ${Object.keys(tasks).join(', ')}\n`);
  process.exit(2);
}
await run(args);
// Pools and timers of the task must not keep a finished child alive.
process.exit(0);
