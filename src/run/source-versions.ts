import type { SourceVersions } from './run-cache.js';

/**
 * Each source's version (part of every cache key), asked again for every run that looks
 * its cache up (once per run and source: RunCacheView keeps the answer for the run), so a
 * bumped version is seen by the next run. A synchronous answer costs a call; an asynchronous
 * one is awaited, except that a source answering the very promise it answered last time
 * (the built-in SQL connectors memoize theirs) is read at once once it has settled. A failed
 * lookup (a throw, a rejection) makes the run's fragments on that source bypass the cache
 * rather than key on a guess. `forget` drops a name (the source was unregistered).
 */
export function sourceVersions(): SourceVersions & { forget(name: string): void } {
  const last = new Map<string, { promise: PromiseLike<string>; settled: boolean; value: string | undefined }>();
  return {
    current(name, source) {
      if (!source.version) return source.kind;
      let answer: string | PromiseLike<string>;
      try {
        answer = source.version();
      } catch {
        return undefined;
      }
      if (!isThenable(answer)) return answer;
      const seen = last.get(name);
      if (seen && seen.promise === answer && seen.settled) return seen.value;
      const entry = { promise: answer, settled: false, value: undefined as string | undefined };
      last.set(name, entry);
      return Promise.resolve(answer).then(
        (value) => {
          entry.settled = true;
          entry.value = value;
          return value;
        },
        () => {
          entry.settled = true;
          return undefined;
        },
      );
    },
    forget: (name) => {
      last.delete(name);
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<string> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
