import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { globalsFile, tsSnippets } from './readme-snippets.js';

const root = resolve(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
/** The blocks live in a folder of the checkout that exists only in memory, so `rxjs`, `zod`, … resolve from node_modules. */
const dir = join(root, '.readme-snippets');
/** The blocks are checked against the built package, as a user imports it (`npm ci` and `npm run build` make it). */
const built = join(root, 'dist/src/index.d.ts');

/** Why the built declarations cannot be used: missing, or older than a source file. */
function staleBuild(): string | undefined {
  if (!existsSync(built)) return 'dist/ is not built';
  const builtAt = statSync(built).mtimeMs;
  const newer = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).find(
    (f) => f.endsWith('.ts') && statSync(join(root, 'src', f)).mtimeMs > builtAt,
  );
  return newer === undefined ? undefined : `src/${newer} is newer than dist/`;
}
const stale = staleBuild();
if (stale !== undefined && process.env.CI !== 'true') console.warn(`README blocks not type-checked: ${stale} (npm run build)`);

describe('README', () => {
  it('has TypeScript blocks to check', () => {
    expect(tsSnippets(readme).length).toBeGreaterThan(10);
    expect(tsSnippets('x\n<!-- readme-check: skip pseudo-code -->\n```ts\nnope(\n```\n```ts\nok();\n```\n')).toEqual([{ line: 7, code: 'ok();' }]);
  });

  it.skipIf(stale !== undefined && process.env.CI !== 'true')('every TypeScript block type-checks against the public API', () => {
    expect(stale, 'npm run build first').toBeUndefined();
    const files = new Map<string, string>([[join(dir, 'globals.d.ts'), globalsFile(join(root, 'src/index.ts'))]]);
    const lineOf = new Map<string, number>();
    for (const s of tsSnippets(readme)) {
      const file = join(dir, `readme-line-${s.line}.ts`);
      files.set(file, `${s.code}\nexport {};\n`);
      lineOf.set(file, s.line);
    }
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      paths: { 'tributary-query': [built] },
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
    host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
    host.getSourceFile = (f, lang, ...rest) => {
      const text = files.get(f);
      return text === undefined ? getSourceFile.call(host, f, lang, ...rest) : ts.createSourceFile(f, text, lang);
    };
    const program = ts.createProgram([...files.keys()], options, host);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && files.has(d.file.fileName))
      .map((d) => {
        const file = d.file as ts.SourceFile;
        const { line } = file.getLineAndCharacterOfPosition(d.start ?? 0);
        const at = lineOf.has(file.fileName) ? `README.md:${(lineOf.get(file.fileName) ?? 0) + line}` : file.fileName;
        return `${at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  });
});
