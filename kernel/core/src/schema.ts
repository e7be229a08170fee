/**
 * One schema → validator helper for every plugin (rpc params and results, event payloads, stream
 * metadata): a JSON Schema, compiled once by ajv, or any Standard Schema validator — zod, valibot,
 * arktype… through `@standard-schema/spec`'s `~standard.validate`. A check never throws: it
 * returns the (possibly defaulted or transformed) value, or the problems in words, each starting
 * with a path under `label` (`params.a must be number`, `data.name: Invalid input`).
 *
 * Checks are synchronous for JSON Schema and for Standard Schema validators that answer
 * synchronously (zod without async refinements), so the hot path awaits nothing; a validator that
 * answers with a promise makes its check return one.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { describe } from './describe.js'
import { EchoError, ErrorCodes } from './errors.js'
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

export interface SchemaCompilerOptions {
  /**
   * JSON Schema `default`s fill missing properties (as plugin options are filled), and a `default`
   * at the schema's root fills a missing value (`undefined`, or `null`, which is how MessagePack
   * carries a missing value in some frames): a method whose params are optional gets
   * `params: { type: 'object', default: {}, properties: … }`. Default true.
   */
  useDefaults?: boolean
}

/**
 * Compiles schemas for one owner (a plugin in one kernel), so JSON Schema `$id`s never collide
 * between kernels. Each schema object is compiled once; compiling it again returns the same check.
 */
export class SchemaCompiler {
  #ajv: Ajv | undefined
  readonly #useDefaults: boolean
  /** ajv's compiled function per schema object (compiling one with an `$id` twice would throw). */
  readonly #validators = new WeakMap<object, ValidateFunction>()
  /** The checks made, per schema object and label: a schema passed per call is not re-wrapped per call. */
  readonly #checks = new WeakMap<object, Map<string, SchemaCheck>>()

  constructor(options: SchemaCompilerOptions = {}) {
    this.#useDefaults = options.useDefaults ?? true
  }

  /**
   * Compiles `schema`; problems are reported under `label` (`params`, `data`, `meta`). Throws
   * `E_CONFIG` (its message says why) for something that is neither a JSON Schema object nor a
   * Standard Schema validator, or a JSON Schema ajv refuses: callers add whose schema it was.
   */
  compile<S extends Schema>(schema: S, label: string): SchemaCheck<SchemaOutput<S>> {
    if (typeof schema !== 'object' || schema === null) {
      throw new EchoError(ErrorCodes.E_CONFIG, `a schema must be a JSON Schema object or a Standard Schema validator (zod, valibot, arktype…), got ${describe(schema)}`)
    }
    let byLabel = this.#checks.get(schema)
    let check = byLabel?.get(label)
    if (check === undefined) {
      check = isStandardSchema(schema) ? standardCheck(schema, label) : jsonCheck(this.#validator(schema as JsonSchema), label, this.#useDefaults ? rootDefault(schema as JsonSchema) : undefined)
      if (byLabel === undefined) this.#checks.set(schema, (byLabel = new Map()))
      byLabel.set(label, check)
    }
    return check as SchemaCheck<SchemaOutput<S>>
  }

  #validator(schema: JsonSchema): ValidateFunction {
    let validate = this.#validators.get(schema)
    if (validate === undefined) {
      // Defaults fill the value (useDefaults), no type coercion; every problem listed (allErrors).
      this.#ajv ??= new Ajv({ allErrors: true, useDefaults: this.#useDefaults, strict: false })
      try {
        validate = this.#ajv.compile(schema)
      } catch (error) {
        throw new EchoError(ErrorCodes.E_CONFIG, `not a valid JSON Schema: ${EchoError.from(error).message}`, { cause: error })
      }
      this.#validators.set(schema, validate)
    }
    return validate
  }
}

/** The root `default` of a JSON Schema, as a function making a fresh copy per use (a handler may change what it gets). */
function rootDefault(schema: JsonSchema): (() => unknown) | undefined {
  if (!Object.prototype.hasOwnProperty.call(schema, 'default')) return undefined
  const value = (schema as { default?: unknown }).default
  return () => structuredClone(value)
}

function jsonCheck(validate: ValidateFunction, label: string, fallback: (() => unknown) | undefined): SchemaCheck {
  return (value) => {
    // ajv fills defaults only into objects: the missing value itself is ours to fill
    if (fallback !== undefined && (value === undefined || value === null)) value = fallback()
    try {
      return validate(value) ? { ok: true, value } : { ok: false, problems: jsonProblems(validate.errors, label) }
    } catch (error) {
      return { ok: false, problems: [`${label} could not be checked: ${EchoError.from(error).message}`] }
    }
  }
}

function jsonProblem(error: ErrorObject, label: string): string {
  const path = label + error.instancePath.replace(/\//g, '.')
  if (error.keyword === 'additionalProperties') {
    return `${path} has unknown property '${(error.params as { additionalProperty: string }).additionalProperty}'`
  }
  if (error.keyword === 'required') return `${path}.${(error.params as { missingProperty: string }).missingProperty} is required`
  return `${path} ${error.message ?? 'is invalid'}`
}

function limited(problems: string[], total: number, label: string): string[] {
  if (total > MAX_PROBLEMS) problems.push(`and ${total - MAX_PROBLEMS} more`)
  return problems.length ? problems : [`${label} does not match the schema`]
}

function jsonProblems(errors: readonly ErrorObject[] | null | undefined, label: string): string[] {
  const list = errors ?? []
  return limited(list.slice(0, MAX_PROBLEMS).map((e) => jsonProblem(e, label)), list.length, label)
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

function standardCheck(schema: StandardSchemaV1, label: string): SchemaCheck {
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
