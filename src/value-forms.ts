/**
 * The forms a database prints a bound value in when it echoes it rewritten (see
 * value-mask.ts): PostgreSQL and MariaDB print a bound `Date` in their own date-time form, in
 * the session's zone, whichever it is (`2024-01-02 03:04:05.678+00`, `2024-01-02`); a float in
 * exponent notation of their own (`1e-07`, `1.2345678901234568e+20`, `1.2345678901234568e20`)
 * or as a plain decimal (`0.0000001`); a numeric text in its canonical form (`'1.50'` into a
 * float column echoes `1.5`); a text case-folded by an index (`lower(email)`). @internal
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** The SQL forms of one moment read in one zone's fields: its date, its date and time, with its milliseconds (and without their trailing zeros). */
function sqlForms(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): string[] {
  const day = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
  const time = `${day} ${pad(h)}:${pad(mi)}:${pad(s)}`;
  const fraction = pad(ms, 3);
  return [day, time, `${time}.${fraction}`, `${time}.${fraction.replace(/0+$/, '')}`];
}

/**
 * The UTC offsets time zones use (in minutes; every one IANA's zones have used since 1970, in
 * standard and in daylight time, all between -12:00 and +14:00, most whole hours). A server
 * echoes a moment in its session's zone, which may be neither UTC nor this process's
 * (`SET TIME ZONE 'Asia/Kathmandu'`, a role's or database's default) and may be on daylight
 * time at an offset no zone has in standard time (America/St_Johns in summer: -02:30).
 */
const ZONE_OFFSETS = [
  ...Array.from({ length: 27 }, (_, i) => (i - 12) * 60),
  -640, -630, -570, -510, -270, -225, -210, -150, -90, -44.5,
  210, 270, 330, 345, 390, 450, 510, 525, 570, 585, 630, 690, 750, 765, 825,
];

/** A moment as a SQL server echoes it: its fields in UTC, in this process's zone (the drivers send a `Date` in it by default) and at every offset a zone uses. */
export function dateForms(date: Date): string[] {
  const forms = sqlForms(date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds(), date.getMilliseconds());
  for (const offset of ZONE_OFFSETS) {
    const at = new Date(date.getTime() + offset * 60_000);
    forms.push(...sqlForms(at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate(), at.getUTCHours(), at.getUTCMinutes(), at.getUTCSeconds(), at.getUTCMilliseconds()));
  }
  return [...new Set(forms)];
}

const ISO_MOMENT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const PLAIN = new Intl.NumberFormat('en-US', { useGrouping: false, maximumFractionDigits: 20 });

/** A float the way the servers print it besides JavaScript's `String(n)`: exponent notations and the plain decimal. */
export function numberForms(n: number): string[] {
  if (!Number.isFinite(n)) return [];
  const text = String(n);
  const abs = Math.abs(n);
  if (!text.includes('e') && (abs === 0 || (abs >= 1e-4 && abs < 1e15))) return [text];
  const exp = n.toExponential();
  return [text, exp, exp.replace('e+', 'e'), exp.replace(/e([+-])(\d)$/, 'e$10$2'), PLAIN.format(n)];
}

/** A text case-folded, as a server prints it through `lower()` / `upper()` or a folding index: the folds that differ from it. */
export function caseFolds(text: string): string[] {
  return [text.toLowerCase(), text.toUpperCase()].filter((fold) => fold !== text);
}

/** A text's other forms: a date-time text as a moment and a number text canonical (its case folds are `caseFolds`). */
export function textForms(text: string): string[] {
  const forms: string[] = [];
  if (ISO_MOMENT.test(text)) {
    const moment = new Date(text.replace(' ', 'T'));
    if (!Number.isNaN(moment.getTime())) forms.push(...dateForms(moment));
  }
  if (DECIMAL.test(text)) forms.push(...numberForms(Number(text)));
  return forms;
}

/**
 * How far a number's form reaches in a text that prints it with a scale (`1.5` as `1.500`,
 * `125` as `125.00`): past the zeros a decimal column appends. `end` is where the form ended;
 * it stays there when the zeros go on into other digits (`125.05` is no scale of `125`, and
 * its `125` is masked as it was before scales were read).
 */
export function scaledEnd(text: string, form: string, end: number): number {
  if (!/^[+-]?\d+(?:\.\d+)?$/.test(form)) return end;
  let at = end;
  if (!form.includes('.')) {
    if (text[at] !== '.' || text[at + 1] !== '0') return end;
    at++;
  }
  while (text[at] === '0') at++;
  return at < text.length && text[at]! >= '0' && text[at]! <= '9' ? end : at;
}
