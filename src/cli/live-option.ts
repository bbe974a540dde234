import type { Executor } from '../executor.js';
import { createLiveView, type LiveView } from '../ui/index.js';
import { InputError, type CliIo } from './io.js';
import type { Redactor } from './redact.js';

/** `run --ui`: what the run needs of the live page. */
export interface LiveOption {
  /** Starts the page for this executor and says where it is (stderr); error texts on it pass `redact`. */
  attach(executor: Executor, redact: Redactor): Promise<void>;
  /** Draws the run's plan and follows it. */
  watch(run: ReturnType<Executor['run']>, plan: unknown): void;
  /** After the run: keeps the page up until Ctrl-C (or SIGTERM), so its timeline can be read. */
  untilInterrupted(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The `--ui [port]` option of `run`: undefined without it; `true` picks a free port. The
 * page is served on 127.0.0.1 only (see createLiveView).
 */
export function liveOption(value: boolean | string | undefined, io: CliIo): LiveOption | undefined {
  if (value === undefined || value === false) return undefined;
  const port = value === true ? 0 : Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InputError('invalid --ui port', [{ path: '--ui', message: `expected a port number from 0 to 65535, got ${JSON.stringify(value)}` }]);
  }
  let view: LiveView | undefined;
  return {
    attach: async (executor, redact) => {
      try {
        view = await createLiveView(executor, { port, redact });
      } catch (error) {
        throw unusablePort(error, port) ?? error;
      }
      io.stderr.write(`tributary: live view at ${view.url}\n`);
    },
    watch: (run, plan) => void view?.watch(run, plan),
    untilInterrupted: async () => {
      if (!view) return;
      io.stderr.write(`tributary: the live view stays at ${view.url} with the run's timeline; press Ctrl-C to stop\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.removeListener('SIGINT', stop);
          process.removeListener('SIGTERM', stop);
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    },
    close: async () => view?.close(),
  };
}

/**
 * A port the page cannot listen on, as the usage error it is (exit 2, before anything runs):
 * taken by another program, or one this user may not open. Undefined for any other error.
 */
function unusablePort(error: unknown, port: number): InputError | undefined {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  const what = '; choose another port (--ui <port>), or give --ui without a port to let the system pick a free one';
  if (code === 'EADDRINUSE') return new InputError(`--ui port ${port} is in use`, [{ path: '--ui', message: `port ${port} on 127.0.0.1 is already in use${what}` }]);
  if (code === 'EACCES') return new InputError(`--ui port ${port} is not allowed`, [{ path: '--ui', message: `this user may not listen on port ${port} (ports below 1024 need privileges)${what}` }]);
  return undefined;
}
