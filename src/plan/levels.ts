import type { Fragment } from './schema.js';

/**
 * Groups fragments (or a plan's fragments) into levels: level 0 has no dependencies, level N depends on at least
 * one fragment of level N-1. Assumes an acyclic graph (validate first). Order inside a
 * level follows the plan.
 */
export function levels(input: readonly Pick<Fragment, 'id' | 'dependsOn'>[] | { fragments: readonly Pick<Fragment, 'id' | 'dependsOn'>[] }): string[][] {
  const fragments = Array.isArray(input) ? input : (input as { fragments: readonly Pick<Fragment, 'id' | 'dependsOn'>[] }).fragments;
  const byId = new Map(fragments.map((f) => [f.id, f]));
  const levelOf = new Map<string, number>();
  const visit = (id: string): number => {
    const known = levelOf.get(id);
    if (known !== undefined) return known;
    // Iterative post-order, so a 10,000-deep chain does not overflow the stack.
    const stack: { id: string; next: number }[] = [{ id, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const deps = byId.get(top.id)?.dependsOn ?? [];
      if (top.next < deps.length) {
        const dep = deps[top.next++]!;
        if (!levelOf.has(dep) && byId.has(dep)) stack.push({ id: dep, next: 0 });
        continue;
      }
      let level = 0;
      for (const dep of deps) level = Math.max(level, (levelOf.get(dep) ?? -1) + 1);
      levelOf.set(top.id, level);
      stack.pop();
    }
    return levelOf.get(id)!;
  };
  const out: string[][] = [];
  for (const f of fragments) {
    const level = visit(f.id);
    (out[level] ??= []).push(f.id);
  }
  return out;
}
