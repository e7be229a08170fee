/**
 * What the kernel's schema checks share between the Node build (schema.ts: JSON Schema by ajv) and
 * the browser build (schema.browser.ts): the types, Standard Schema validators (zod, valibot,
 * arktype…, through `~standard.validate`) and a JSON Schema's root `default`.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { EchoError } from './errors.js'
import type { JsonSchema } from './plugin.js'

export type { StandardSchemaV1 }

/** What a `schema` option accepts: a JSON Schema object, or a Standard Schema validator (zod, valibot, arktype…). */
export type Schema<Output = unknown> = JsonSchema | StandardSchemaV1<unknown, Output>

/** The type a schema describes: a Standard Schema's output type; `unknown` for a JSON Schema. */
export type SchemaOutput<S> = S extends StandardSchemaV1<unknown, infer O> ? O : unknown

export type SchemaResult<T = unknown> = { ok: true; value: T } | { ok: false; problems: string[] }

/** A compiled schema: sync for JSON Schema and sync Standard validators, a promise otherwise. Never throws. */
export type SchemaCheck<T = unknown> = (value: unknown) => SchemaResult<T> | Promise<SchemaResult<T>>

/** At most this many problems are listed; the rest are counted. */
export const MAX_PROBLEMS = 10

/** True for a Standard Schema validator (it has `~standard.validate`); never throws. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  try {
    const standard = (value as { '~standard'?: { validate?: unknown } } | null)?.['~standard']
    return typeof standard === 'object' && standard !== null && typeof standard.validate === 'function'
  } catch {
    return false
  }
}

/** True when a check answered with a promise. */
export function isPending<T>(result: SchemaResult<T> | Promise<SchemaResult<T>>): result is Promise<SchemaResult<T>> {
  return typeof (result as Promise<unknown>).then === 'function'
}

/** The root `default` of a JSON Schema, as a function making a fresh copy per use (a handler may change what it gets). */
export function rootDefault(schema: JsonSchema): (() => unknown) | undefined {
  if (!Object.prototype.hasOwnProperty.call(schema, 'default')) return undefined
  const value = (schema as { default?: unknown }).default
  return () => structuredClone(value)
}

export function limited(problems: string[], total: number, label: string): string[] {
  if (total > MAX_PROBLEMS) problems.push(`and ${total - MAX_PROBLEMS} more`)
  return problems.length ? problems : [`${label} does not match the schema`]
}

function pathText(label: string, path: StandardSchemaV1.Issue['path']): string {
  let text = label
  for (const segment of path ?? []) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment
    text += typeof key === 'number' ? `[${key}]` : `.${String(key)}`
  }
  return text
}

function standardProblems(issues: ReadonlyArray<StandardSchemaV1.Issue>, label: string): string[] {
  const problems = issues.slice(0, MAX_PROBLEMS).map((issue) => `${pathText(label, issue.path)}: ${typeof issue.message === 'string' ? issue.message : 'is invalid'}`)
  return limited(problems, issues.length, label)
}

function standardResult(result: StandardSchemaV1.Result<unknown>, label: string): SchemaResult {
  try {
    return result.issues ? { ok: false, problems: standardProblems(result.issues, label) } : { ok: true, value: result.value }
  } catch (error) {
    return { ok: false, problems: [`${label} could not be checked: ${EchoError.from(error).message}`] }
  }
}

export function standardCheck(schema: StandardSchemaV1, label: string): SchemaCheck {
  const validate = schema['~standard'].validate
  const failed = (error: unknown): SchemaResult => ({ ok: false, problems: [`${label} could not be checked: the validator threw ${EchoError.from(error).message}`] })
  return (value) => {
    let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>
    try {
      result = validate(value)
    } catch (error) {
      return failed(error)
    }
    if (typeof (result as Promise<unknown>).then === 'function') {
      return (result as Promise<StandardSchemaV1.Result<unknown>>).then((r) => standardResult(r, label), failed)
    }
    return standardResult(result as StandardSchemaV1.Result<unknown>, label)
  }
}
