/**
 * What a frame's payload and meta become before msgpackr writes them: one walk, bounded in depth
 * and in values, that lets through only what the protocol carries and converts the few things it
 * documents converting. msgpackr alone would write a Date as a timestamp extension, a Set/Error/
 * RegExp as arrays (extensions with `moreTypes`), a function as nil, a typed array other than
 * Uint8Array as a bin of truncated elements followed by stale buffer bytes, and would recurse into a
 * cyclic value until the stack overflows (and `largeTail` below would loop forever on one).
 *
 * - string, number, boolean, null, undefined (→ nil): as they are.
 * - BigInt: as a MessagePack int64/uint64 when it fits in 64 bits; beyond → E_CODEC.
 * - Uint8Array/Buffer: as they are (bin); any other typed array or DataView: a Uint8Array over the
 *   same bytes; ArrayBuffer/SharedArrayBuffer: its bytes.
 * - arrays, plain objects (prototype Object.prototype or null): walked.
 * - any other object with a toJSON() method: what toJSON returns, walked (as JSON.stringify does):
 *   a Date becomes its ISO 8601 string, an invalid Date nil.
 * - Symbol, function, Map, Set, Error, RegExp, Promise, a class instance without toJSON: E_CODEC.
 * - deeper than maxDepth (the frame array is level 1), which is also how a cycle shows: E_CODEC.
 * - more than MAX_VALUES array elements and objects in one frame (a sparse `new Array(1e9)`, a
 *   DAG that shares sub-objects exponentially): E_CODEC, before the walk or msgpackr spends
 *   seconds on it.
 *
 * A container is copied only when something in it changed (the caller's value is never modified);
 * for plain data the walk allocates nothing. The refusal's path (`payload.a[3]`) is collected only
 * on the way out of a failure.
 */
import type { EchoError } from '@echostream/kernel'
import { codecErrors, frameLabel } from './errors.js'

/** Array elements + objects per frame: each encodes to at least one byte, so this is 16× the default maxPayload (1 MiB). */
export const MAX_VALUES = 2 ** 24

const MIN_INT64 = -(2n ** 63n)
const MAX_UINT64 = 2n ** 64n - 1n

/** Too many values: thrown out of the walk, made into an EchoError (naming the frame) by `field`. */
class TooMany {}

/** A refusal travelling out of the walk, collecting the path on the way. */
class Refusal {
  readonly path: Array<string | number> = []
  constructor(readonly make: (path: string) => EchoError) {}
}

function annotate(error: unknown, step: string | number): unknown {
  if (error instanceof Refusal) error.path.push(step)
  return error
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

function pathText(root: string, steps: Array<string | number>): string {
  // Collected innermost first.
  const shown = steps.length > 12 ? [...steps.slice(-8)].reverse() : [...steps].reverse()
  let text = root
  for (const step of shown) {
    text += typeof step === 'number' ? `[${step}]` : IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step.length > 40 ? `${step.slice(0, 40)}…` : step)}]`
  }
  return steps.length > 12 ? `${text}… (${steps.length} levels down)` : text
}

/** A short label for a value the protocol does not carry; never throws. */
function label(value: unknown): string {
  if (typeof value === 'symbol') return 'a Symbol'
  if (typeof value === 'function') {
    let name: unknown
    try {
      name = (value as { name?: unknown }).name
    } catch {}
    return typeof name === 'string' && name ? `the function ${name.slice(0, 40)}` : 'a function'
  }
  let name: unknown
  try {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: unknown } | null)?.constructor
    name = typeof ctor === 'function' ? ctor.name : undefined
  } catch {}
  if (typeof name !== 'string' || !name) return 'an object of an unknown class'
  name = name.slice(0, 40)
  return `${/^[AEIOU]/.test(name as string) ? 'an' : 'a'} ${name as string}${['Map', 'Set', 'Error', 'RegExp', 'Promise', 'WeakMap', 'WeakSet'].includes(name as string) ? '' : ' instance'}`
}

/** A prototype of a plain object from another realm (a vm context, an iframe). */
function foreignObjectPrototype(proto: object): boolean {
  if (Object.getPrototypeOf(proto) !== null) return false
  const ctor = (proto as { constructor?: unknown }).constructor
  return typeof ctor === 'function' && ctor.name === 'Object'
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // `__proto__` would set the copy's prototype instead of a field.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

export interface Preparer {
  readonly maxDepth: number
  /**
   * `value` as msgpackr should write it (the value itself when nothing needed converting), for the
   * frame field `field` ('payload' or 'meta', at level 2) of a frame of `kind`. Throws an E_CODEC
   * EchoError naming the path and the frame. `fresh`: the first field of a frame (resets the
   * per-frame value count).
   */
  field(value: unknown, field: string, fresh: boolean, kind: unknown): unknown
}

/*
 * Plain functions over closure variables, not a class: private methods measured ~40 ns slower per
 * small frame (they are not inlined across the recursion).
 */
export function createPreparer(maxDepth: number): Preparer {
  let values = 0
  const tooDeep = () => new Refusal((path) => codecErrors.tooDeep(maxDepth, path))

  /** Primitives other than strings and numbers (kept out of `prepare`, which then inlines: ~30 ns per small frame). */
  function primitive(value: unknown): unknown {
    if (typeof value === 'boolean' || value === undefined) return value
    if (typeof value === 'bigint') {
      if (value >= MIN_INT64 && value <= MAX_UINT64) return value
      throw new Refusal((path) => codecErrors.bigintRange(path))
    }
    // symbol, function
    throw new Refusal((path) => codecErrors.notCarried(label(value), path))
  }

  function prepare(value: unknown, depth: number): unknown {
    if (typeof value !== 'object' || value === null) return typeof value === 'string' || typeof value === 'number' || value === null ? value : primitive(value)
    if (Array.isArray(value)) return prepareArray(value, depth)
    if (ArrayBuffer.isView(value)) return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    const proto = Object.getPrototypeOf(value) as object | null
    if (proto === Object.prototype || proto === null) return prepareObject(value as Record<string, unknown>, depth)
    return prepareOther(value, proto, depth)
  }

  function prepareArray(value: unknown[], depth: number): unknown[] {
    if (depth > maxDepth) throw tooDeep()
    const length = value.length
    if ((values += length) > MAX_VALUES) throw new TooMany()
    let copy: unknown[] | undefined
    let i = 0
    try {
      for (; i < length; i++) {
        const item = value[i]
        const out = prepare(item, depth + 1)
        if (out !== item) (copy ??= value.slice())[i] = out
      }
    } catch (error) {
      throw annotate(error, i)
    }
    return copy ?? value
  }

  function prepareObject(value: Record<string, unknown>, depth: number): unknown {
    if (depth > maxDepth) throw tooDeep()
    // Counted per container, not per key: only revisiting containers (a DAG) can blow up.
    if (++values > MAX_VALUES) throw new TooMany()
    let copy: Record<string, unknown> | undefined
    let key = ''
    try {
      for (key in value) {
        const item = value[key]
        const out = prepare(item, depth + 1)
        if (out !== item) setOwn((copy ??= { ...value }), key, out)
      }
    } catch (error) {
      throw annotate(error, key)
    }
    const result = copy ?? value
    // msgpackr sends an object whose `constructor` is not Object through its extension checks,
    // which call a `toJSON` field — a peer's map `{ constructor: 1, toJSON: 1 }` echoed back would
    // throw there. A Map is written as a plain map by msgpackr.
    if (result.constructor !== Object && result.toJSON !== undefined) return new Map(Object.entries(result))
    return result
  }

  function prepareOther(value: object, proto: object, depth: number): unknown {
    if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer)) return new Uint8Array(value)
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') {
      // depth + 1: a toJSON that returns another object with a toJSON is bounded too.
      if (depth > maxDepth) throw tooDeep()
      return prepare(toJSON.call(value), depth + 1)
    }
    if (foreignObjectPrototype(proto)) return prepareObject(value as Record<string, unknown>, depth)
    throw new Refusal((path) => codecErrors.notCarried(label(value), path))
  }

  return {
    maxDepth,
    field(value, field, fresh, kind) {
      if (fresh) values = 0
      try {
        return prepare(value, 2)
      } catch (error) {
        if (error instanceof Refusal) throw error.make(`${pathText(field, error.path)} of ${frameLabel(kind)}`)
        if (error instanceof TooMany) throw codecErrors.tooManyValues(MAX_VALUES, frameLabel(kind))
        throw error
      }
    },
  }
}
