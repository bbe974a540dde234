import { Readable, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JsonNumberRangeError, parseExactJson } from '../../src/cli/exact-json.js';
import { readPlanFile } from '../../src/cli/inputs.js';
import { InputError } from '../../src/cli/io.js';

describe('JSON the command line reads (parseExactJson)', () => {
  it('keeps a number past a double\'s range as its exact decimal (1e400 is no Infinity, 1e-400 no 0)', () => {
    expect(parseExactJson('{"big": 1e400, "tiny": -1e-400, "id": 9007199254740993}')).toEqual({
      big: `1${'0'.repeat(400)}`,
      tiny: `-0.${'0'.repeat(399)}1`,
      id: '9007199254740993',
    });
  });

  it('refuses a number past NUMERIC\'s range at once, rather than writing out its 50 million digits', () => {
    for (const text of ['1e50000000', '-1e131072', '1e-16384', '1e99999999999999999999']) {
      expect(() => parseExactJson(`{"n": ${text}}`)).toThrow(JsonNumberRangeError);
    }
  });

  it('a plan file holding one is an invalid plan that says so, not "not JSON"', async () => {
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([Buffer.from('{"id": "p", "n": 1e50000000}')]), env: {}, cwd: '/' };
    const error = await readPlanFile('-', io).then(() => expect.fail('expected an InputError'), (e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).issues).toEqual([{ path: '(root)', message: expect.stringContaining('the JSON number 1e50000000 is past the range of a NUMERIC') }]);
  });
});
