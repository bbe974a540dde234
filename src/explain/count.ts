/** `n` and the word for it: `1 row`, `2 rows`, `0 rows` (`plural` when adding an s will not do). */
export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}
