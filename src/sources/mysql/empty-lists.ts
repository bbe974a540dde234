import { mysqlTokens, type SqlToken } from './sql-tokens.js';

/** Replace `sql.slice(from, to)` with `text`. */
export interface TextEdit {
  from: number;
  to: number;
  text: string;
}

/** A subquery of no rows: `x IN (…)` is false and `x NOT IN (…)` true, whatever x is (a null too). */
export const NO_ROWS = 'SELECT NULL FROM DUAL WHERE FALSE';

/** The words before `(` that make its contents a set: `x [NOT] IN (…)`, `x = ANY (…)`, `SOME`, `ALL`. */
const SET_WORDS = new Set(['IN', 'ANY', 'SOME', 'ALL']);

/**
 * What the empty bound lists of `sql` become, as edits in text order; `isEmpty(offset)` says
 * whether the `?` at that offset binds an empty list. MySQL has no `IN ()`, so, reading the
 * text with a lexer (comments, quotes and spacing do not matter):
 * - an empty list that is one element of a set list among others is dropped with its comma
 *   (`IN (?, 5)` → `IN (5)`): the set is the union of its elements, as PostgreSQL's
 *   `= ANY($1)` over the concatenated array;
 * - a set list whose every element is an empty list becomes a subquery of no rows, so `IN`
 *   keeps no row and `NOT IN` every row (`NOT IN (NULL)` would keep none);
 * - an empty list anywhere else (`COALESCE(?)`) becomes `NULL`.
 */
export function emptyListEdits(sql: string, isEmpty: (offset: number) => boolean, backslashEscapes = true): TextEdit[] {
  const tokens = mysqlTokens(sql, backslashEscapes);
  const edits: TextEdit[] = [];
  const handled = new Set<number>();
  for (let t = 1; t < tokens.length; t++) {
    const open = tokens[t]!;
    const word = tokens[t - 1]!;
    if (sql[open.start] !== '(' || word.kind !== 'word' || !SET_WORDS.has(sql.slice(word.start, word.end).toUpperCase())) continue;
    const elements = listElements(sql, tokens, t);
    if (elements === undefined) continue;
    const empty = elements.map(([first, last]) => first === last && tokens[first]!.kind === 'param' && isEmpty(tokens[first]!.start));
    if (!empty.includes(true)) continue;
    for (let e = 0; e < elements.length; e++) if (empty[e]) handled.add(tokens[elements[e]![0]]!.start);
    edits.push(...setListEdits(tokens, elements, empty));
  }
  for (const token of tokens) {
    if (token.kind === 'param' && !handled.has(token.start) && isEmpty(token.start)) edits.push({ from: token.start, to: token.end, text: 'NULL' });
  }
  return edits.sort((a, b) => a.from - b.from);
}

/** The top-level elements (first and last token index) of the list opened by `tokens[open]`; undefined if it never closes. */
function listElements(sql: string, tokens: SqlToken[], open: number): [number, number][] | undefined {
  const elements: [number, number][] = [];
  let depth = 0;
  let first = open + 1;
  for (let t = open + 1; t < tokens.length; t++) {
    const c = tokens[t]!.kind === 'punct' ? sql[tokens[t]!.start] : undefined;
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if ((c === ')' || c === ',') && depth === 0) {
      if (t > first) elements.push([first, t - 1]);
      if (c === ')') return elements;
      first = t + 1;
    }
  }
  return undefined;
}

/** The edits for one set list with at least one empty element (see emptyListEdits). */
function setListEdits(tokens: SqlToken[], elements: [number, number][], empty: boolean[]): TextEdit[] {
  const start = (e: number) => tokens[elements[e]![0]]!.start;
  const end = (e: number) => tokens[elements[e]![1]]!.end;
  const lastKept = empty.lastIndexOf(false);
  if (lastKept === -1) return [{ from: start(0), to: end(elements.length - 1), text: NO_ROWS }];
  const edits: TextEdit[] = [];
  for (let e = 0; e < elements.length; e++) {
    if (!empty[e]) continue;
    // Before the last kept element: up to the next element; after it: from the previous one's end.
    edits.push(e < lastKept ? { from: start(e), to: start(e + 1), text: '' } : { from: end(e - 1), to: end(e), text: '' });
  }
  return edits;
}
