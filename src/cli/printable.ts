/**
 * Text from data or from a server (a column name, a cell, an error body) made safe to print
 * on a terminal: every C0/C1 control character is shown escaped (`\n`, `\t`, `\r`) or as `?`,
 * so none can move the cursor, clear the screen, set the window title or forge an output line.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (ch) => (ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === '\r' ? '\\r' : '?'));
}
