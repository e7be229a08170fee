/**
 * "Did you mean …?" for names a user typed: plugin specifiers, RPC methods. Damerau-Levenshtein
 * (optimal string alignment: a swapped pair of letters is one edit, as in `rcp` → `rpc`), twenty
 * lines, so no dependency. commander suggests command and option names itself.
 */

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = d
    }
  }
  return rows[a.length]![b.length]!
}

/**
 * The candidates closest to `input` (at most `limit`, the nearest distance only): within a third
 * of the input's length in edits (at least 1, at most 3), compared case-insensitively. `input` itself is never
 * suggested. `key` maps a candidate to the text compared (e.g. a package's short name).
 */
export function suggest(input: string, candidates: Iterable<string>, { limit = 3, key = (c: string) => c }: { limit?: number; key?: (candidate: string) => string } = {}): string[] {
  const wanted = input.toLowerCase()
  const max = Math.min(3, Math.max(1, Math.floor(wanted.length / 3)))
  const scored: Array<[string, number]> = []
  for (const candidate of new Set(candidates)) {
    if (candidate === input) continue
    const distance = editDistance(wanted, key(candidate).toLowerCase())
    if (distance <= max) scored.push([candidate, distance])
  }
  const best = Math.min(...scored.map(([, d]) => d))
  return scored
    .filter(([, d]) => d === best)
    .sort((x, y) => x[0].localeCompare(y[0]))
    .slice(0, limit)
    .map(([candidate]) => candidate)
}

/** `"a"`, `"a or b"`, `"a, b or c"` — each quoted. */
export function orList(names: readonly string[]): string {
  const quoted = names.map((n) => `'${n}'`)
  return quoted.length <= 1 ? (quoted[0] ?? '') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`
}
