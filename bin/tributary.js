#!/usr/bin/env node
// The `tributary` command. Runs the compiled CLI from dist/ when it is there (an installed
// package, or after `npm run build`); in a source checkout without a build, or with
// TRIBUTARY_FROM_SOURCE=1, it runs the TypeScript entry through tsx (a dev dependency).
import { existsSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
const fromSource = process.env.TRIBUTARY_FROM_SOURCE === '1' || !existsSync(compiled);

// `tributary run … | head` closes the pipe early: stop quietly, as Unix tools do.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

let cli;
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  cli = await import('../src/cli/main.ts');
} else {
  cli = await import(compiled.href);
}
process.exitCode = await cli.main(process.argv);
