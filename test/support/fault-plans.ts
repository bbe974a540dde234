import type { Plan } from '../../src/plan/index.js';
import type { Row } from '../../src/data/row.js';
import { memorySource } from '../../src/sources/memory/connector.js';
import type { SourceExecutor } from '../../src/sources/source.js';

/**
 * The plan shape most fault scenarios share: the fragment under fault beside a local one
 * on a memory source, merged by a union. Every row carries `frag` (its fragment's id), so a
 * `partial` result can be checked row by row: the healthy fragment's rows all there, once.
 */

/** Rows of the healthy local fragment. */
export const localRows: Row[] = Array.from({ length: 5 }, (_, i) => ({ id: 10_000 + i, name: `local ${i}`, frag: 'local' }));

/** The memory source that serves `localRows` as table `ref`. */
export function localSource(): SourceExecutor {
  return memorySource({ tables: { ref: localRows } });
}

/** `{ faulty fragment } ∪ { local fragment }`, errorPolicy `partial` unless overridden. */
export function unionPlan(id: string, faulty: { id: string; source: string; query: unknown }, extra: Partial<Plan> = {}): Plan {
  return {
    id,
    errorPolicy: 'partial',
    fragments: [
      { id: faulty.id, source: faulty.source, query: faulty.query },
      { id: 'local', source: 'local', query: { table: 'ref' } },
    ],
    merge: { op: 'union', inputs: [faulty.id, 'local'] },
    ...extra,
  };
}

/** The URL with another port (a proxy's). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}
