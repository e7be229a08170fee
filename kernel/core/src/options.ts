/**
 * Plugin options: a validator checks them against the plugin's JSON schema, applies its defaults
 * and freezes them. The core's own validator is deliberately small — defaults, unknown keys
 * (`additionalProperties: false`), `type`, `enum`, `minimum`/`maximum` — so that a browser bundle
 * carries no schema compiler; `@echostream/node` injects ajv (full JSON Schema) instead.
 */
import { EchoError, ErrorCodes } from './errors.js'
import { describe } from './describe.js'
import type { JsonSchema } from './plugin.js'

export interface OptionsValidator {
  /** The options with defaults applied, frozen; throws `E_CONFIG` naming `owner` and every problem under `root`. */
  validate<T = unknown>(schema: JsonSchema | undefined, input: unknown, owner: string, root: string): Readonly<T>
  /** The same checks, returning the problems instead of throwing (for reporting several at once). */
  check(schema: JsonSchema, input: unknown, root: string): string[]
}

/** Deep-frozen `value` (plain data only: buffers, functions and class instances are the user's). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    if (ArrayBuffer.isView(value) || (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype)) return value
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

/** Copies plain objects and arrays (defaults are filled in place); functions, buffers and class instances are kept as they are. */
export function cloneOptions<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneOptions) as T
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = cloneOptions(item)
    return out as T
  }
  return value
}

interface Schema {
  type?: string | string[]
  properties?: Record<string, Schema>
  additionalProperties?: boolean | Schema
  default?: unknown
  enum?: unknown[]
  minimum?: number
  maximum?: number
}

function typeOk(type: string, value: unknown): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(value)
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
    case 'array':
      return Array.isArray(value)
    case 'null':
      return value === null
    default:
      return typeof value === type
  }
}

function walk(schema: Schema, value: unknown, path: string, problems: string[]): void {
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type]
  if (types.length && !types.some((t) => typeOk(t, value))) return void problems.push(`'${path}' must be ${types.join(' or ')}, got ${describe(value)}`)
  if (schema.enum && !schema.enum.includes(value)) problems.push(`'${path}' must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`)
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) problems.push(`'${path}' must be >= ${schema.minimum}, got ${value}`)
  if (typeof value === 'number' && schema.maximum !== undefined && value > schema.maximum) problems.push(`'${path}' must be <= ${schema.maximum}, got ${value}`)
  if (!schema.properties || typeof value !== 'object' || value === null || Array.isArray(value)) return
  const object = value as Record<string, unknown>
  for (const [key, sub] of Object.entries(schema.properties)) {
    if (object[key] === undefined && sub.default !== undefined) object[key] = cloneOptions(sub.default)
    if (object[key] !== undefined) walk(sub, object[key], `${path}.${key}`, problems)
  }
  if (schema.additionalProperties === false) {
    const known = Object.keys(schema.properties)
    for (const key of Object.keys(object)) {
      if (!known.includes(key)) problems.push(`unknown option '${path}.${key}' (known: ${known.join(', ')}): remove it or fix its spelling`)
    }
  }
}

/** The core's validator: defaults, unknown keys, types, enums and bounds (see the file comment). */
export const basicValidator: OptionsValidator = {
  validate<T>(schema: JsonSchema | undefined, input: unknown, owner: string, root: string): Readonly<T> {
    const options = cloneOptions(input ?? {})
    if (schema) {
      const problems: string[] = []
      walk(schema as Schema, options, root, problems)
      if (problems.length) {
        throw new EchoError(ErrorCodes.E_CONFIG, `Invalid options for ${owner}: ${problems.join('; ')}. Fix ${root} in your config (the plugin's README lists its options).`, { data: { problems } })
      }
    }
    return deepFreeze(options) as Readonly<T>
  },
  check(schema: JsonSchema, input: unknown, root: string): string[] {
    const problems: string[] = []
    walk(schema as Schema, cloneOptions(input ?? {}), root, problems)
    return problems
  },
}
