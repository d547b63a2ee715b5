// "Did you mean …?" for a mistyped flag or command: the known names nearest to what was typed.

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The known names closest to `typed`, when they are close enough to be what was meant: at most
 * one edit per three characters typed (at least one), or `typed` as the start of exactly one
 * name (`--log` for `--log-level`). Empty when nothing is close: a wild guess misleads.
 */
export function closestNames(typed: string, known: readonly string[]): string[] {
  const lower = typed.toLowerCase();
  const limit = Math.max(1, Math.floor(typed.length / 3));
  let best = Infinity;
  let names: string[] = [];
  for (const name of known) {
    const d = editDistance(lower, name.toLowerCase());
    if (d > limit || d > best) continue;
    if (d < best) names = [];
    best = d;
    names.push(name);
  }
  if (names.length > 0) return names;
  const starting = lower.length >= 3 ? known.filter((n) => n.toLowerCase().startsWith(lower)) : [];
  return starting.length === 1 ? starting : [];
}

/** `a`, `a or b`, `a, b or c`. */
export function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
