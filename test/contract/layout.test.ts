import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * DESIGN.md, "Layout": `machines/` imports from `src/`; `src/` never imports a machine except
 * through `executor.ts`. A type-only import is erased at run time and carries no dependency,
 * so only imports that load a machine module count.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The specifiers of a file's imports and re-exports that load a module at run time. */
function valueImports(source: string): string[] {
  const found: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(statement)) {
    if (m[2] !== undefined) continue;
    const clause = m[3] ?? '';
    // `import { type A, type B } from …` loads nothing either.
    const names = /^\{([^}]*)\}$/.exec(clause.trim())?.[1];
    if (names !== undefined && names.split(',').every((n) => n.trim() === '' || n.trim().startsWith('type '))) continue;
    found.push(m[4] ?? '');
  }
  for (const m of source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push(m[1] ?? '');
  return found;
}

describe('the layout DESIGN.md fixes', () => {
  it('src/ loads a machine module only in executor.ts', () => {
    const offenders = tsFiles(join(ROOT, 'src'))
      .filter((file) => relative(ROOT, file) !== join('src', 'executor.ts'))
      .flatMap((file) => valueImports(readFileSync(file, 'utf8')).filter((s) => s.includes('/machines/')).map((s) => `${relative(ROOT, file)} → ${s}`));
    expect(offenders).toEqual([]);
  });

  it('the check sees a value import and lets a type-only one pass', () => {
    expect(valueImports("import { bindPort } from '../../machines/source.machine.js';")).toEqual(['../../machines/source.machine.js']);
    expect(valueImports("import type { QueryMachine } from '../../machines/query.machine.js';")).toEqual([]);
    expect(valueImports("import { type QueryMachine } from '../../machines/query.machine.js';")).toEqual([]);
    expect(valueImports("export { queryMachineFor } from '../machines/query.machine.js';")).toEqual(['../machines/query.machine.js']);
  });
});
