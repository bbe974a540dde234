import { FragmentError, TributaryError, type ErrorIssue } from './errors.js';
import { statementWords } from './statement-words.js';
import { caseFolds, dateForms, numberForms, scaledEnd, textForms } from './value-forms.js';

/**
 * Keeps bound values out of everything that fans out (events$, spans, the live page,
 * progress lines, recordings). A database echoes the values it was given in its errors
 * (`invalid input syntax for type integer: "SSN-123"`, `Key (email)=(ann@x.org) already
 * exists`, `Duplicate entry 'ann@x.org'`), and an HTTP API in its error bodies and redirect
 * targets: every printed form of the call's values and the run's params is replaced by
 * `[param]` before an error text leaves the run. The caller's own `result.errors` keep the
 * driver's words (the caller supplied the values).
 */

/** What a masked value becomes. */
export const MASK = '[param]';
/**
 * Printed forms shorter than this are left alone: `1`, `t`, `42` are found in every text and
 * masking them would blank out counts, line numbers and codes while hiding nothing useful.
 */
export const MIN_MASKED_LENGTH = 3;
/** A server that cuts a long value short (MariaDB's `Duplicate entry`) still prints its head: that much suffices. */
const PREFIX_LENGTH = 16;
/** How deep nested values (arrays, objects) are searched for values to mask. */
const MAX_DEPTH = 8;

export type ValueMask = (text: string) => string;

/** The values each failed call was made with, and its statement's words, kept beside its error (never on it). */
const callValues = new WeakMap<object, { values: readonly unknown[]; words: ReadonlySet<string> | undefined }>();
/**
 * Where a source call's context (a SourceCall) offers the values it was made with: a getter
 * read only when something masks an error of the call (a recording's wrapper), so a call
 * that succeeds pays nothing for it. Internal: not part of the public API.
 */
export const CALL_VALUES: unique symbol = Symbol('tributary.callValues');
/** A source call's context that can say which values its call was made with. */
export interface CallValuesCarrier {
  readonly [CALL_VALUES]?: readonly unknown[];
}
/** A masked copy → the error it was copied from (the run's result keeps that one). */
const originals = new WeakMap<object, TributaryError>();

/** Remembers the values `error`'s call was made with (its params, the values bound into its query), and its `query`'s words. */
export function noteCallValues(error: object, values: readonly unknown[], query?: unknown): void {
  if (values.length > 0 && !callValues.has(error)) callValues.set(error, { values, words: statementWords(query) });
}

/** The error a masked copy was made from (itself when it is no copy). */
export function originalError<E extends TributaryError>(error: E): E {
  return (originals.get(error) as E | undefined) ?? error;
}

/** `encodeURIComponent` then what URLSearchParams encodes besides (`+` for a space, `!'()~`). */
const formEncode = (encoded: string): string => encoded.replace(/%20/g, '+').replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
// eslint-disable-next-line no-control-regex -- the characters JSON.stringify escapes
const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]/;

/**
 * The printed forms of `values` as a driver or a server would show them: a string as it is,
 * its JSON-escaped and URL-encoded forms; a number or bigint in decimal; a Date in ISO form;
 * and the forms a server rewrites them into (value-forms.ts); the elements of arrays and the
 * fields of objects, each on its own (a JSON array or a PostgreSQL array literal prints them
 * one by one). Booleans, nulls and bytes are not masked.
 */
export function printedForms(values: readonly unknown[]): Set<string> {
  return formsAndFolds(values).forms;
}

/** The printed forms of `values`, and those of them that only a case fold of a text gives (`FROM` of `from`). */
function formsAndFolds(values: readonly unknown[]): { forms: Set<string>; folds: Set<string> } {
  const forms = new Set<string>();
  const folds = new Set<string>();
  const add = (s: string): void => {
    if (s.length >= MIN_MASKED_LENGTH) forms.add(s);
  };
  const visit = (value: unknown, depth: number): void => {
    if (typeof value === 'string') {
      add(value);
      if (NEEDS_JSON_ESCAPE.test(value)) add(JSON.stringify(value).slice(1, -1));
      const encoded = encodeURIComponent(value);
      if (encoded !== value) {
        add(encoded);
        add(formEncode(encoded));
      }
      textForms(value).forEach(add);
      for (const fold of caseFolds(value)) if (fold.length >= MIN_MASKED_LENGTH) folds.add(fold);
    } else if (typeof value === 'number') numberForms(value).forEach(add);
    else if (typeof value === 'bigint') add(String(value));
    else if (value instanceof Date) {
      if (!Number.isNaN(value.getTime())) [value.toISOString(), ...dateForms(value)].forEach(add);
    } else if (typeof value === 'object' && value !== null && depth < MAX_DEPTH && !ArrayBuffer.isView(value)) {
      for (const item of Array.isArray(value) ? value : Object.values(value)) visit(item, depth + 1);
    }
  };
  for (const value of values) visit(value, 0);
  for (const fold of folds) {
    if (forms.has(fold)) folds.delete(fold); // a value prints so as it is
    else forms.add(fold);
  }
  return { forms, folds };
}

/** One list of values' forms; `folds`: those that only a case fold gives (no value prints so as it is). */
interface Forms {
  readonly all: readonly string[];
  readonly folds: ReadonlySet<string>;
}

/** The forms of one call's values, found once however many of its errors are masked. */
const formsCache = new WeakMap<readonly unknown[], Forms>();
function formsOf(values: readonly unknown[]): Forms {
  let forms = formsCache.get(values);
  if (forms === undefined) {
    const found = formsAndFolds(values);
    formsCache.set(values, (forms = { all: [...found.forms], folds: found.folds }));
  }
  return forms;
}

/**
 * The case folds to leave alone in the texts of a call whose statement has `words`: a fold
 * that is one of them, in that case, and that no value prints as it is. A server prints a
 * statement's keywords and identifiers in its messages, and echoes a value in another case
 * only through a function (`lower($1)`: such a statement has no words here, so every fold
 * stays masked) or an index or collation that folds it (`lower(email)`), which prints a
 * statement's word only for a value that is, but for its case, that word.
 */
function spared(lists: readonly Forms[], words: ReadonlySet<string> | undefined): ReadonlySet<string> {
  const out = new Set<string>();
  if (words === undefined) return out;
  for (const { folds } of lists) for (const fold of folds) if (words.has(fold) && !lists.some((l) => !l.folds.has(fold) && l.all.includes(fold))) out.add(fold);
  return out;
}

/**
 * A mask for `values`: each occurrence of a printed form (a form of 16 or more characters
 * also where only its first 16 or more are printed) becomes `[param]`; overlapping
 * occurrences (`SSN-1` inside `SSN-1-2`) become one. A form that starts or ends with a letter
 * or digit is masked only where it is not part of a longer word (`100` does not mask `1000`).
 */
export function createValueMask(values: readonly unknown[], query?: unknown): ValueMask {
  const lists = [formsOf(values)];
  return maskOf(lists, spared(lists, statementWords(query)));
}

function maskOf(lists: readonly Forms[], spare: ReadonlySet<string> = new Set()): ValueMask {
  if (lists.every((l) => l.all.length === 0)) return (text) => text;
  return (text) => {
    if (text.length < MIN_MASKED_LENGTH) return text;
    // A form can only occur where its first three characters do: most of a long list is ruled out by a set lookup.
    const grams = new Set<string>();
    for (let i = 0; i + MIN_MASKED_LENGTH <= text.length; i++) grams.add(text.slice(i, i + MIN_MASKED_LENGTH));
    const spans: [number, number][] = [];
    for (const { all } of lists) for (const form of all) if (!spare.has(form) && grams.has(form.slice(0, MIN_MASKED_LENGTH))) for (const span of occurrences(text, form)) spans.push(span);
    if (spans.length === 0) return text;
    spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    let out = '';
    let at = 0;
    for (const [start, end] of spans) {
      if (end <= at && start < at) continue; // inside the span just masked
      if (start < at) {
        at = end; // overlaps it: the mask grows to cover both
        continue;
      }
      out += text.slice(at, start) + MASK;
      at = end;
    }
    return out + text.slice(at);
  };
}

const WORD = /[\p{L}\p{N}_]/u;

/** Where `form` (or a head of it of PREFIX_LENGTH or more characters) occurs in `text`, as a whole word. */
function occurrences(text: string, form: string): [number, number][] {
  const head = form.slice(0, PREFIX_LENGTH);
  const out: [number, number][] = [];
  for (let i = text.indexOf(head); i >= 0; i = text.indexOf(head, i + 1)) {
    let end = i + head.length;
    while (end - i < form.length && text[end] === form[end - i]) end++;
    const whole = end - i === form.length;
    if (whole) end = scaledEnd(text, form, end);
    if (WORD.test(form[0]!) && i > 0 && WORD.test(text[i - 1]!)) continue;
    if (whole && WORD.test(form[form.length - 1]!) && end < text.length && WORD.test(text[end]!)) continue;
    out.push([i, end]);
  }
  return out;
}

/** A mask for the values `call` (a source call's context: see SourceCall) was made with, running `query`, and the run's `params`. */
export function callMask(call: object, params: Readonly<Record<string, unknown>> = {}, query?: unknown): ValueMask {
  const values = CALL_VALUES in call ? call[CALL_VALUES] : undefined;
  const lists = [formsOf(Object.values(params))];
  if (Array.isArray(values) && values.length > 0) lists.push(formsOf(values));
  return maskOf(lists, spared(lists, statementWords(query)));
}

/** The mask of the run's `params` and the values noted on `error` (or a call) and its causes. */
function maskFor(error: unknown, params: Readonly<Record<string, unknown>>): ValueMask {
  const lists = [formsOf(Object.values(params))];
  // The words every noted call's statement has (none when one has none to offer).
  let words: ReadonlySet<string> | undefined;
  let first = true;
  let current = error;
  for (let depth = 0; depth < MAX_DEPTH && typeof current === 'object' && current !== null; depth++) {
    const noted = callValues.get(current);
    if (noted) {
      lists.push(formsOf(noted.values));
      words = first ? noted.words : noted.words && words && new Set([...words].filter((w) => noted.words!.has(w)));
      first = false;
    }
    current = safeCause(current);
  }
  return maskOf(lists, spared(lists, words));
}

/**
 * The copy of `error` that may leave the run: its message, issues and stack masked with the
 * values of the call it came from (noted with `noteCallValues`) and the run's `params`; a
 * cause is kept only as such a copy of a TributaryError (a driver's own error, with fields
 * like PostgreSQL's `detail`, stays behind). `originalError` gives the error back.
 */
export function publicError<E extends TributaryError>(error: E, params: Readonly<Record<string, unknown>> = {}): E {
  if (originals.has(error)) return error;
  const mask = maskFor(error, params);
  const copy = maskedCopy(error, mask, 0) as E;
  originals.set(copy, error);
  return copy;
}

function maskedCopy(error: TributaryError, mask: ValueMask, depth: number): TributaryError {
  try {
    const cause = safeCause(error);
    const maskedCause = depth < MAX_DEPTH && cause instanceof TributaryError ? maskedCopy(cause, mask, depth + 1) : undefined;
    // Paths name places in the plan (`fragments.f`), never values: only the messages are masked.
    const issues: ErrorIssue[] = error.issues.map((i) => ({ path: i.path, message: mask(i.message) }));
    const common = { issues, retryable: error.retryable, driverCode: error.driverCode, retryAfterMs: error.retryAfterMs, ...(maskedCause ? { cause: maskedCause } : {}) };
    const copy = error instanceof FragmentError
      ? new FragmentError(error.code, mask(error.message), { ...common, fragmentId: error.fragmentId, source: error.source, attempt: error.attempt, retryable: error.retryable })
      : new TributaryError(error.code, mask(error.message), common);
    if (typeof error.stack === 'string') copy.stack = mask(error.stack);
    return copy;
  } catch {
    // An error whose fields cannot be read (a hostile subclass) leaves nothing of its own.
    return new TributaryError('FRAGMENT_FAILED', 'an error that cannot be read');
  }
}

function safeCause(error: object): unknown {
  try {
    return (error as { cause?: unknown }).cause;
  } catch {
    return undefined;
  }
}
