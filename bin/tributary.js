#!/usr/bin/env node
// The `tributary` command (also installed as `tributary-query`). Runs the compiled CLI in
// dist/ with plain node: `npm run build` makes it, and `prepare` runs that build on
// `npm ci` / `npm install` in a checkout, on installs from git and on `npm pack`, so an
// installed package always has it. TRIBUTARY_FROM_SOURCE=1 runs the TypeScript sources
// through tsx instead, a dev dependency: for this repository's own tests only.
import { existsSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';

// `tributary run … | head` closes the pipe early: stop quietly, as Unix tools do.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
// A closed stderr (`2>&1 >rows.csv | head -1`) loses the progress and messages, not the run:
// the rows still reach stdout and the exit code stays the query's.
process.stderr.on('error', (error) => {
  if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
  throw error;
});

let cli;
if (process.env.TRIBUTARY_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  cli = await import('../src/cli/main.ts');
} else {
  const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
  if (!existsSync(compiled)) {
    console.error('tributary: dist/ is missing: run `npm run build` (or `npm ci`, which builds) in this checkout');
    process.exit(1);
  }
  cli = await import(compiled.href);
}
process.exitCode = await cli.main(process.argv);
