import type { SourceExecutor } from '../sources/source.js';
import type { SourceVersions } from './run-cache.js';

/**
 * Each source's version (part of every cache key), asked once and remembered. A failed
 * lookup is forgotten, and the fragment that met it bypasses the cache rather than keying
 * on a guess. `forget` drops a name (the source was unregistered).
 */
export function sourceVersions(): SourceVersions & { forget(name: string): void } {
  const asked = new Map<string, Promise<string>>();
  const known = new Map<string, string>();
  return {
    known: (name) => known.get(name),
    ask: (name: string, source: SourceExecutor) => {
      let v = asked.get(name);
      if (!v) {
        v = Promise.resolve().then(() => (source.version ? source.version() : source.kind));
        asked.set(name, v);
        v.then(
          (value) => asked.get(name) === v && known.set(name, value),
          () => asked.delete(name),
        );
      }
      return v.catch(() => undefined);
    },
    forget: (name) => {
      asked.delete(name);
      known.delete(name);
    },
  };
}
