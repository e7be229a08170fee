/**
 * `describe(value)`: a short, human description of any value for an error message — a peer's
 * frame field, a thrown value, a bad argument. It never throws: a Proxy whose traps throw, a
 * revoked Proxy, a null-prototype object, a getter that throws, a cycle or a 3,000-deep value all
 * get a description. Nothing is walked beyond one level, so the cost is bounded.
 */

const MAX_TEXT = 60
const MAX_KEYS = 5

function clip(text: string, max = MAX_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`
}

/** Reads `value[key]` without letting a getter or a Proxy trap throw. */
function read(value: object, key: PropertyKey): unknown {
  try {
    return (value as Record<PropertyKey, unknown>)[key]
  } catch {
    return undefined
  }
}

function quote(text: string): string {
  try {
    return JSON.stringify(clip(text))
  } catch {
    return '"…"'
  }
}

function describeObject(value: object): string {
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (ArrayBuffer.isView(value)) return `${Object.prototype.toString.call(value).slice(8, -1)} of ${value.byteLength} bytes`
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`
  if (value instanceof Error) {
    const name = read(value, 'name')
    const message = read(value, 'message')
    const label = typeof name === 'string' && name ? clip(name, 40) : 'Error'
    return typeof message === 'string' ? `${label}: ${clip(message)}` : `${label} (its message cannot be read)`
  }
  if (value instanceof Date) {
    const time = value.getTime()
    return Number.isNaN(time) ? 'an invalid Date' : `a Date (${new Date(time).toISOString()})`
  }
  if (value instanceof Map) return `a Map of ${value.size}`
  if (value instanceof Set) return `a Set of ${value.size}`
  if (typeof (value as { then?: unknown }).then === 'function') return 'a promise'
  const proto = Object.getPrototypeOf(value) as object | null
  const keys = Object.keys(value)
  const shown = keys.slice(0, MAX_KEYS).map((k) => clip(k, 30)).join(', ')
  const fields = keys.length === 0 ? 'with no fields' : `{ ${shown}${keys.length > MAX_KEYS ? `, … (${keys.length} keys)` : ''} }`
  if (proto === null) return `an object with no prototype ${fields}`
  if (proto === Object.prototype) return `an object ${fields}`
  const ctor = read(proto, 'constructor')
  const ctorName = typeof ctor === 'function' ? read(ctor, 'name') : undefined
  return `${typeof ctorName === 'string' && ctorName ? `a ${clip(ctorName, 40)}` : 'an object'} ${fields}`
}

/** A short description of any value; never throws. */
export function describe(value: unknown): string {
  try {
    switch (typeof value) {
      case 'undefined':
        return 'undefined'
      case 'string':
        return `the string ${quote(value)}${value.length > MAX_TEXT ? ` (${value.length} characters)` : ''}`
      case 'number':
        return `the number ${String(value)}`
      case 'bigint':
        return `the bigint ${clip(value.toString())}n`
      case 'boolean':
        return String(value)
      case 'symbol': {
        const text = value.description
        return text === undefined ? 'a symbol' : `the symbol ${quote(text)}`
      }
      case 'function': {
        const name = read(value, 'name')
        return typeof name === 'string' && name ? `the function ${clip(name, 40)}` : 'a function'
      }
      default:
        return value === null ? 'null' : describeObject(value as object)
    }
  } catch {
    // A Proxy trap (getPrototypeOf, ownKeys, has…) threw, or the Proxy is revoked.
    return typeof value === 'function' ? 'a function that cannot be inspected' : 'an object that cannot be inspected'
  }
}
