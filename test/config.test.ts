import { describe, expect, it } from 'vitest';
import { createExecutor, isTributaryError } from '../src/index.js';

/** `createExecutor`'s top level: no options means the defaults; anything else must be an object. */
describe('createExecutor with options that are not an object', () => {
  it.each([
    [null, 'null'],
    ['fast', 'a string'],
    [16, 'a number'],
    [[{ concurrency: 1 }], 'an array'],
    [true, 'a boolean'],
  ])('rejects %o with CONFIG_INVALID at the root', (options, found) => {
    let error: unknown;
    try {
      createExecutor(options as never);
    } catch (e) {
      error = e;
    }
    expect(isTributaryError(error, 'CONFIG_INVALID')).toBe(true);
    if (!isTributaryError(error)) return;
    expect(error.issues).toEqual([{ path: '(root)', message: `createExecutor takes an options object (or nothing, for the defaults), not ${found}` }]);
  });

  it('still takes undefined as "every default"', async () => {
    const executor = createExecutor(undefined);
    await executor.close();
  });
});
