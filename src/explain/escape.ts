/**
 * Label escaping for the three renderings. A fragment's SQL, a plan id or a column name is
 * arbitrary text; each helper makes it one inert token of its format, so no text can close
 * a label, start a comment, add a statement or inject markup.
 */

/** Collapses every run of whitespace (newlines included) into one space. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Text for a line of the plain-text renderings (`text()`), which a terminal shows: every
 * C0/C1 control character is shown escaped (`\n`, `\t`, `\r`, else `?`), so no name or
 * query can break the line, forge another one or drive the terminal (escape sequences).
 */
export function plainText(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (ch) => (ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === '\r' ? '\\r' : '?'));
}

/** Characters that are plain text inside a quoted Mermaid label. */
const MERMAID_SAFE = /^[A-Za-z0-9 .,_+\-*/=!?'()[\]{}@$^~:]$/u;

/**
 * Text for a double-quoted Mermaid label (`id["…"]`, `-->|"…"|`). Every character outside a
 * small safe set becomes a Mermaid entity code (`"` → `#34;`, `#` → `#35;`, `<` → `#60;`),
 * which Mermaid renders as the character itself: quotes, pipes, semicolons, `%%` comments
 * and HTML tags all lose their meaning.
 */
export function mermaidText(text: string): string {
  let out = '';
  for (const ch of oneLine(text)) out += MERMAID_SAFE.test(ch) ? ch : `#${ch.codePointAt(0)!};`;
  return out;
}

/** A multi-line quoted Mermaid label: each line escaped, joined with `<br/>`. */
export function mermaidLabel(lines: readonly string[]): string {
  return `"${lines.map(mermaidText).join('<br/>')}"`;
}

/**
 * Text for a Mermaid Gantt task name, section or title. That grammar has no quoting and
 * no entity codes (`#` starts a comment, `:` ends a task name, `;` ends a statement), so
 * those characters become spaces, as do control characters (an ESC would reach the terminal).
 */
export function ganttText(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return oneLine(text.replace(/[#:;\x00-\x1f\x7f-\x9f]/g, ' ')) || '_';
}

/**
 * Task names that Mermaid's Gantt lexer (case-insensitive) reads as a statement instead:
 * `title …` sets the title, `weekday …`, `excludes …` set options, `click …` and `call …`
 * start interactivity, `section (failed)` opens a section, `accTitle:` a title.
 */
const GANTT_KEYWORD = /^(?:(?:click|call|dateformat|axisformat|tickinterval|includes|excludes|todaymarker|weekday|title|accdescription)\s|section\s[^#:\n;]|acc(?:title|descr)\s*[:{])/i;

/**
 * A Gantt task name (see `ganttText`) that stays a task name: one that starts like a Gantt
 * statement (a fragment called `title`, `weekday` or `click`) is preceded by a zero-width
 * space, which no statement starts with and no renderer shows.
 */
export function ganttTaskName(text: string): string {
  const name = ganttText(text);
  // Tested with the separator that follows a task name: `title :crit, f0, 1, 5`.
  return GANTT_KEYWORD.test(`${name} :`) ? `\u200b${name}` : name;
}

/**
 * A Graphviz DOT double-quoted string. Only `"` and `\` are special inside one (a
 * backslash also starts label escapes such as `\n`, `\N`, `\G`), so both are escaped.
 * DOT has no escape for other control characters: they become `?`, so a file printed on a
 * terminal cannot drive it.
 */
export function dotString(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const plain = oneLine(text).replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
  return `"${plain.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A multi-line DOT label: each line escaped, joined with DOT's `\n` line break. */
export function dotLabel(lines: readonly string[]): string {
  return `"${lines.map((line) => dotString(line).slice(1, -1)).join('\\n')}"`;
}

/** Shortens text to `max` characters, marking the cut with `…`. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}
