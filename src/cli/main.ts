import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { explainCommand, EXPLAIN_FORMATS, type ExplainCommandOptions } from './explain-command.js';
import { ROW_FORMATS } from './format.js';
import { EXIT, InputError, printInputError, processIo, type CliIo } from './io.js';
import { printable } from './printable.js';
import { replayCommand, type ReplayCommandOptions } from './replay-command.js';
import { runCommand, type RunCommandOptions } from './run-command.js';
import { validateCommand } from './validate-command.js';

/**
 * The `tributary` command: `run`, `explain` and `validate`. Returns the exit code instead
 * of exiting, so output is flushed and tests can call it in-process.
 *
 * @example
 * process.exitCode = await main(process.argv);
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = EXIT.ok;
  /* Commands: run, explain, replay, validate. */
  const program = new Command('tributary')
    .description('Run, explain and validate tributary federated query plans (npm package tributary-query).')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  const sources = (required: boolean): Option =>
    new Option('-s, --sources <file>', 'sources file: name → { "kind": sqlite|postgres|mysql|http|memory, …options }').makeOptionMandatory(required);
  const runOptions = (cmd: Command): Command =>
    cmd
      .option('-p, --param <name=value>', 'a run parameter for { "$param": name }; JSON values are parsed, anything else is a string (repeatable)', collect)
      .option('--partial', 'return what can be computed when fragments fail (errorPolicy "partial"; exit code 3)')
      .option('--principal <id>', 'who asks: scopes the cache and quotas, and is what --authorize decides about')
      .option('--authorize <module>', 'a JS module whose default export is the access rule (principal, { source, fragment, plan, params }) => true | false | "reason" (or a promise), params being the --param values; a refusal exits 4 (FORBIDDEN)')
      .option('--deadline <ms>', 'the whole query\'s deadline: optional fragments still running are dropped (partial, exit 3), required ones fail with TIMEOUT')
      .option('--adaptive', 'each source adapts its concurrency limit to the latency and overload it sees (adaptiveConcurrency); the progress shows the limits')
      .option('-q, --quiet', 'no progress on stderr');

  runOptions(
    program
      .command('run')
      .description('run a plan and print its rows')
      .argument('<plan>', 'plan JSON file ("-" reads standard input)')
      .addOption(sources(true))
      .addOption(new Option('-f, --format <format>', 'output format').choices(ROW_FORMATS).default('table'))
      .option('--ui [port]', 'serve a live page of the run on 127.0.0.1 (the DAG, progress, lanes, events, then the timeline); it stays up until Ctrl-C')
      .option('--record <file>', 'record every source response and timing into <file> (JSON, holds the rows: keep it private), to run again with `tributary replay`'),
  ).action(async (plan: string, opts: RunCommandOptions) => {
    exitCode = await runCommand(plan, opts, io);
  });

  runOptions(
    program
      .command('explain')
      .description('show what a plan will do (EXPLAIN), or run it and show where the time went (--analyze)')
      .argument('<plan>', 'plan JSON file ("-" reads standard input)')
      .addOption(sources(false))
      .option('-a, --analyze', 'run the plan (needs --sources) and show timings and the critical path')
      .addOption(new Option('-f, --format <format>', 'text, a Mermaid diagram (a Gantt chart with --analyze), Graphviz DOT, or a picture drawn offline: svg, or an html page').choices(EXPLAIN_FORMATS).default('text')),
  ).action(async (plan: string, opts: ExplainCommandOptions) => {
    exitCode = await explainCommand(plan, opts, io);
  });

  program
    .command('replay')
    .description('run a recording (run --record) again: the same plan against the recorded responses, on virtual time; no source is called')
    .argument('<recording>', 'recording JSON file ("-" reads standard input)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(ROW_FORMATS).default('table'))
    .option('-q, --quiet', 'no progress on stderr')
    .action(async (recording: string, opts: ReplayCommandOptions) => {
      exitCode = await replayCommand(recording, opts, io);
    });

  program
    .command('validate')
    .description('check a plan, and with --sources the sources file and every native query, without running anything')
    .argument('<plan>', 'plan JSON file ("-" reads standard input)')
    .addOption(sources(false))
    .action(async (plan: string, opts: { sources?: string }) => {
      exitCode = await validateCommand(plan, opts, io);
    });

  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    if (error instanceof InputError) {
      printInputError(io, error);
      return EXIT.invalid;
    }
    io.stderr.write(`tributary: ${printable(error instanceof Error ? error.message : String(error))}\n`);
    return EXIT.failed;
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The package's version, from the package.json above this file (in src/ or dist/src/). */
function version(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tributary-query' && pkg.version) return pkg.version;
    } catch {
      // not there: try the next level
    }
  }
  return '0.0.0';
}
