/**
 * Per-method params validation with ajv (STYLE rule 11: ajv stays behind this small interface).
 * Each schema is compiled once, at `rpc.handle`; the hot path only calls the compiled function.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import type { JsonSchema } from '@echostream/kernel'
import { rpcErrors } from './errors.js'

/** Returns undefined when the params are valid, else the problems in words. */
export type ParamsCheck = (params: unknown) => string[] | undefined

/** At most this many problems are listed in one E_INVALID_PARAMS message. */
const MAX_PROBLEMS = 10

function describe(error: ErrorObject): string {
  const path = 'params' + error.instancePath.replace(/\//g, '.')
  if (error.keyword === 'additionalProperties') {
    return `${path} has unknown property '${(error.params as { additionalProperty: string }).additionalProperty}'`
  }
  if (error.keyword === 'required') return `${path}.${(error.params as { missingProperty: string }).missingProperty} is required`
  return `${path} ${error.message ?? 'is invalid'}`
}

export function problemsOf(errors: readonly ErrorObject[] | null | undefined): string[] {
  const list = (errors ?? []).slice(0, MAX_PROBLEMS).map(describe)
  if ((errors?.length ?? 0) > MAX_PROBLEMS) list.push(`and ${errors!.length - MAX_PROBLEMS} more`)
  return list.length ? list : ['params do not match the schema']
}

/** One per kernel: schemas with `$id` stay local to it. */
export class ParamsValidator {
  #ajv: Ajv | undefined
  readonly #compiled = new WeakMap<object, ValidateFunction>()

  /** Compiles `schema` (once per schema object); throws E_CONFIG naming the method when it is invalid. */
  compile(method: string, schema: JsonSchema): ParamsCheck {
    let validate = this.#compiled.get(schema)
    if (!validate) {
      // Defaults in the schema fill the params, as options are filled (useDefaults); no coercion.
      this.#ajv ??= new Ajv({ allErrors: true, useDefaults: true, strict: false })
      try {
        validate = this.#ajv.compile(schema)
      } catch (error) {
        throw rpcErrors.badSchema(method, error)
      }
      this.#compiled.set(schema, validate)
    }
    const check = validate
    return (params) => (check(params) ? undefined : problemsOf(check.errors))
  }
}
