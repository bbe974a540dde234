/** What the critical path needs to know of a fragment. */
export interface Timed {
  id: string;
  dependsOn: readonly string[];
  /** Milliseconds since the query started; undefined if the fragment never ran. */
  finishedAt?: number | undefined;
  /** A `cancelled` fragment was stopped (fail-fast, after another failed): never on the path. */
  status?: string;
}

/**
 * The critical path: the chain of fragments ending at the one that finished last, found
 * by following, at each step, the dependency that finished last. That dependency is what
 * the fragment waited for, so shortening any fragment off this chain cannot make the
 * query finish sooner. Returned in execution order (first fragment first); ties go to the
 * fragment that comes first in the plan. A cancelled fragment did not finish, it was stopped
 * (under fail-fast, because another failed): the path ends at that failure instead, not at
 * whichever fragment took longest to stop.
 */
export function criticalPath(fragments: readonly Timed[]): string[] {
  const byId = new Map(fragments.map((f) => [f.id, f]));
  const order = new Map(fragments.map((f, i) => [f.id, i]));
  const latest = (ids: Iterable<string>): Timed | undefined => {
    let best: Timed | undefined;
    for (const id of ids) {
      const f = byId.get(id);
      if (f?.finishedAt === undefined || f.status === 'cancelled') continue;
      const later = best === undefined || f.finishedAt > best.finishedAt! || (f.finishedAt === best.finishedAt && order.get(f.id)! < order.get(best.id)!);
      if (later) best = f;
    }
    return best;
  };
  const path: string[] = [];
  const seen = new Set<string>();
  for (let f = latest(byId.keys()); f && !seen.has(f.id); f = latest(f.dependsOn)) {
    seen.add(f.id);
    path.push(f.id);
  }
  return path.reverse();
}
