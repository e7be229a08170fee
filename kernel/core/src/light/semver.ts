/**
 * What a page gets for `semver` (the kernel's package.json `browser` field maps its imports here,
 * through semver-satisfies.ts and semver-valid.ts): the kernel only checks a plugin's `kernel`
 * range, and semver is 20–28 KB minified. Ranges like `^1`, `~1.2`,
 * `>=1.0.0 <2`, `1.x || 2`; numeric parts only (a prerelease tag is ignored, as the kernel's
 * `includePrerelease` allows). test/browser/light-checks.test.ts compares it with semver.
 */
const parse = (v: string): number[] => v.split('-')[0]!.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : NaN))
const cmp = (a: number[], b: number[]): number => a[0]! - b[0]! || (a[1] ?? 0) - (b[1] ?? 0) || (a[2] ?? 0) - (b[2] ?? 0)
const COMPARATOR = /^(\^|~|>=|<=|>|<|=)?v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[\w.]+)?$/

function test(comparator: string, v: number[]): boolean | undefined {
  const m = COMPARATOR.exec(comparator)
  if (!m) return undefined
  const parts = [m[2], m[3], m[4]].filter((p) => p !== undefined && !/[xX*]/.test(p)).map(Number)
  let op = m[1] ?? '='
  const base = [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0]
  // A partial version is a range of its own: >1 is >=2.0.0, <=1.2 is <1.3.0.
  if ((op === '>' || op === '<=') && parts.length > 0 && parts.length < 3) {
    base.fill(0, parts.length)
    base[parts.length - 1]!++
    op = op === '>' ? '>=' : '<'
  }
  if (op === '>=') return cmp(v, base) >= 0
  if (op === '>') return cmp(v, base) > 0
  if (op === '<=') return cmp(v, base) <= 0
  if (op === '<') return cmp(v, base) < 0
  // ^ fixes the parts up to the first non-zero one given, ~ major and minor, a plain version every part given.
  const nonZero = parts.findIndex((p) => p !== 0)
  const fixed = op === '^' && nonZero !== -1 ? nonZero + 1 : op === '~' ? Math.min(parts.length, 2) : parts.length
  return cmp(v, base) >= 0 && parts.slice(0, fixed).every((p, i) => v[i] === p)
}

const sets = (range: string): string[][] => range.split('||').map((set) => set.trim().split(/\s+/).filter(Boolean))

export function satisfies(version: string, range: string, _options?: unknown): boolean {
  const v = parse(version)
  return sets(range).some((set) => set.every((c) => test(c, v) === true))
}

export function validRange(range: string): string | null {
  return sets(range).every((set) => set.every((c) => test(c, [0, 0, 0]) !== undefined)) ? range : null
}

export function major(version: string): number {
  return parse(version)[0]!
}

export default { satisfies, validRange, major }
