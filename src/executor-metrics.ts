import type { CacheStats } from './cache/index.js';
import type { SourceGuards } from './execution/env.js';
import type { Lane, LaneStats } from './execution/lanes.js';
import type { ExecutorMetrics, LaneMetrics } from './executor-api.js';

/**
 * A lane's figures as `metrics()` shows them: an unlimited lane's `limit` is `null`, not
 * `Infinity`, so the figures survive `JSON.stringify` (which writes `Infinity` as `null`)
 * and read the same in a process and on a dashboard that received them as JSON.
 */
export function laneMetrics(stats: LaneStats): LaneMetrics {
  return { limit: Number.isFinite(stats.limit) ? stats.limit : null, running: stats.running, queued: stats.queued };
}

/** `executor.metrics()`: the live figures of the executor's lanes, sources and cache. @internal */
export function executorMetrics(parts: {
  running: number;
  globalLane: Lane;
  sourceLanes: ReadonlyMap<string, Lane>;
  guards: ReadonlyMap<string, SourceGuards>;
  cache: CacheStats | undefined;
}): ExecutorMetrics {
  const { globalLane, sourceLanes, guards } = parts;
  return {
    runningQueries: parts.running,
    lanes: {
      global: laneMetrics(globalLane.stats()),
      sources: Object.fromEntries([...sourceLanes].map(([name, lane]) => [name, laneMetrics(lane.stats())])),
    },
    cache: parts.cache,
    sources: Object.fromEntries(
      [...guards].map(([name, g]) => {
        const lane = sourceLanes.get(name);
        return [
          name,
          {
            circuit: g.breaker?.state() ?? 'disabled',
            retryTokens: g.budget?.tokens(),
            limit: lane ? laneMetrics(lane.stats()).limit : null,
            hedges: g.hedge?.hedges() ?? 0,
            hedgeWins: g.hedge?.hedgeWins() ?? 0,
          },
        ];
      }),
    ),
  };
}
