import { memorySource, type MemoryQuery } from '../../src/sources/index.js';
import { runContract } from './contract.js';

const numbers = Array.from({ length: 100 }, (_, i) => ({ n: i + 1 }));
const rows10 = Array.from({ length: 10 }, (_, i) => ({ n: i + 1, s: 'x'.repeat(40) }));

// Rows the app already holds: no server, no native types (values are the app's own), no streaming.
runContract<MemoryQuery>({
  name: 'memory',
  create: (own = {}) => memorySource({ tables: { numbers, rows10 }, ...own }),
  value: () => undefined,
  rows: (count) => ({ query: { table: `rows${count}` }, params: [] }),
  numbersIn: (list) => ({ query: { table: 'numbers', where: { in: ['n', list as (string | number)[]] } }, params: [] }),
  invalid: [{ query: { table: 'missing' }, params: [] }],
  streams: false,
  bytes: 'estimate',
});
