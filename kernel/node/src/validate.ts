/**
 * The Node package's options validator: ajv, full JSON Schema (the core's own validator covers
 * only defaults, unknown keys, types, enums and bounds, to keep ajv out of browser bundles).
 * Defaults come from the schema, unknown options are refused, and every error names the plugin,
 * the option path and the fix.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { cloneOptions, deepFreeze, EchoError, ErrorCodes, type JsonSchema, type OptionsValidator } from '@echostream/kernel'

// `verbose` puts `data` and `parentSchema` on errors: messages quote the bad value and list the known options.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true })
// Compile once per schema object and reuse (ajv's compile is the slow part).
const compiled = new WeakMap<object, ValidateFunction>()

function validatorFor(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema)
  if (!validate) {
    validate = ajv.compile(schema)
    compiled.set(schema, validate)
  }
  return validate
}

function describe(error: ErrorObject, root: string): string {
  const path = root + error.instancePath.replace(/\//g, '.')
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty
      const known = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {})
      return `unknown option '${path}.${extra}'${known.length ? ` (known: ${known.join(', ')})` : ''}: remove it or fix its spelling`
    }
    case 'type':
      return `'${path}' must be ${(error.params as { type: string }).type}, got ${JSON.stringify(error.data)}: give it a value of that type`
    case 'enum':
      return `'${path}' must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(error.data)}: use one of those`
    case 'required':
      return `'${path}.${(error.params as { missingProperty: string }).missingProperty}' is required: add it`
    default:
      return `'${path}' ${error.message ?? 'is invalid'}, got ${JSON.stringify(error.data)}: change the value`
  }
}

/**
 * Returns the options with schema defaults applied, frozen; throws `E_CONFIG` listing every
 * problem. `owner` names the plugin ("plugin 'transport-ws'"), `root` the path users write.
 */
export function validateOptions<T>(schema: JsonSchema | undefined, input: unknown, owner: string, root: string): Readonly<T> {
  const options = cloneOptions(input ?? {})
  if (schema) {
    const validate = validatorFor(schema)
    if (!validate(options)) {
      const problems = (validate.errors ?? []).map((e) => describe(e, root))
      throw new EchoError(
        ErrorCodes.E_CONFIG,
        `Invalid options for ${owner}: ${problems.join('; ')}. Fix ${root} in your config (the plugin's README lists its options).`,
        { data: { problems } },
      )
    }
  }
  return deepFreeze(options) as Readonly<T>
}

/** Same checks, returning the problems instead of throwing (for reporting several at once). */
export function checkOptions(schema: JsonSchema, input: unknown, root: string): string[] {
  const validate = validatorFor(schema)
  return validate(cloneOptions(input)) ? [] : (validate.errors ?? []).map((e) => describe(e, root))
}

/** ajv as the kernel's `OptionsValidator` (what @echostream/node's createServer/createClient pass). */
export const ajvValidator: OptionsValidator = { validate: validateOptions, check: checkOptions }
