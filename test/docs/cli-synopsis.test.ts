import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const root = resolve(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** `tributary <command> --help`, run in-process. */
async function help(command: string): Promise<string> {
  const stdout = new PassThrough();
  let text = '';
  stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
  const stderr = new PassThrough();
  await main(['node', 'tributary', command, '--help'], { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: root });
  return text;
}

/** The long options a text names (`--help` aside). */
function longOptions(text: string): string[] {
  return [...new Set([...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]))].filter((o) => o !== '--help').sort();
}

/** The README's synopsis line of `command` (the block under "The command line"). */
function synopsis(command: string): string {
  const line = readme.split('\n').find((l) => l.startsWith(`tributary ${command} <`));
  if (line === undefined) throw new Error(`README has no synopsis of tributary ${command}`);
  return line;
}

describe('the README synopsis of each command', () => {
  for (const command of ['run', 'replay', 'explain', 'validate']) {
    it(`names exactly the options of tributary ${command} --help`, async () => {
      const text = await help(command);
      // Option lines only: the usage and description lines name no options.
      const optionsPart = text.slice(text.indexOf('Options:'));
      expect(longOptions(synopsis(command))).toEqual(longOptions(optionsPart));
    });
  }

  it('--authorize says the rule is asked with the --param values too', async () => {
    expect((await help('run')).replace(/\s+/g, ' ')).toContain('{ source, fragment, plan, params }');
  });
});
