import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Authorize } from '../access/index.js';
import { InputError, type CliIo } from './io.js';

/**
 * `--authorize <module>`: a JavaScript module (ESM, or CommonJS through Node's interop) whose
 * default export is the executor's access rule, `(principal, { source, fragment, plan, params }) =>
 * boolean | string | Promise<boolean | string>`. The principal is `{ id }` from
 * `--principal` (undefined without it), so a rule that needs claims looks them up by id.
 */
export async function loadAuthorize(file: string, io: CliIo): Promise<Authorize> {
  const url = pathToFileURL(resolve(io.cwd, file)).href;
  let loaded: { default?: unknown };
  try {
    loaded = (await import(url)) as { default?: unknown };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(`cannot load the authorize module ${file}`, [{ path: '--authorize', message }]);
  }
  if (typeof loaded.default !== 'function') {
    throw new InputError(`the authorize module ${file} has no default-exported function`, [
      { path: '--authorize', message: 'export default (principal, { source, fragment, plan, params }) => true | false | "reason"' },
    ]);
  }
  return loaded.default as Authorize;
}
