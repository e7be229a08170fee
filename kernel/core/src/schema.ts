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
import { describe } from './describe.js'
import { EchoError, ErrorCodes } from './errors.js'
import type { JsonSchema } from './plugin.js'
import { isStandardSchema, limited, MAX_PROBLEMS, rootDefault, standardCheck, type Schema, type SchemaCheck, type SchemaOutput } from './schema-standard.js'

export { isPending, isStandardSchema, MAX_PROBLEMS, type Schema, type SchemaCheck, type SchemaOutput, type SchemaResult, type StandardSchemaV1 } from './schema-standard.js'

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

function jsonProblems(errors: readonly ErrorObject[] | null | undefined, label: string): string[] {
  const list = errors ?? []
  return limited(list.slice(0, MAX_PROBLEMS).map((e) => jsonProblem(e, label)), list.length, label)
}

