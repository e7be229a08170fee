/**
 * What a browser bundle gets for describe.ts (the package's `browser` field maps it here): the
 * same promise — a short description of any value for a message, that never throws — in fewer
 * words: a string quoted and clipped, a number or boolean as written, an object by its kind and
 * size. The page's messages are short already (presets/browser README, "Decisions").
 */
const clip = (text: string): string => (text.length > 60 ? `${text.slice(0, 60)}…` : text)

/** A short description of any value; never throws. */
export function describe(value: unknown): string {
  try {
    switch (typeof value) {
      case 'string':
        return JSON.stringify(clip(value))
      case 'bigint':
        return `${clip(String(value))}n`
      case 'symbol':
      case 'function':
        return `a ${typeof value}`
      case 'object':
        if (value === null) return 'null'
        if (Array.isArray(value)) return `an array of ${value.length}`
        const tag = Object.prototype.toString.call(value).slice(8, -1)
        return tag === 'Object' ? 'an object' : `a ${tag}${ArrayBuffer.isView(value) ? ` of ${value.byteLength} bytes` : ''}`
      default:
        return String(value)
    }
  } catch {
    return 'a value that cannot be inspected'
  }
}
