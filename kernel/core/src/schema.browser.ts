/**
 * What a browser bundle gets for schema.ts (the package's `browser` field maps it here): a page
 * compiles no JSON Schema. A JSON Schema given in a page (`rpc.handle(…, { params })`, a request's
 * `result`, `events.schema`) is the server's to check — the server checks what the page sends with
 * its own schemas and answers with its coded error — and in the page it only fills a missing value
 * with the schema's root `default` (an optional params object stays an object). A Standard Schema
 * validator (zod, valibot, arktype…) brings its own code and is checked in the page as on Node.
 * presets/browser/README.md, "Decisions".
 */
import { describe } from './describe.js'
import { EchoError, ErrorCodes } from './errors.js'
import type { JsonSchema } from './plugin.js'
import { isStandardSchema, rootDefault, standardCheck, type Schema, type SchemaCheck, type SchemaOutput } from './schema-standard.js'

export { isPending, isStandardSchema, MAX_PROBLEMS, type Schema, type SchemaCheck, type SchemaOutput, type SchemaResult, type StandardSchemaV1 } from './schema-standard.js'

export interface SchemaCompilerOptions {
  /** A JSON Schema's root `default` fills a missing value (`undefined` or `null`). Default true. */
  useDefaults?: boolean
}

export class SchemaCompiler {
  readonly #useDefaults: boolean
  readonly #checks = new WeakMap<object, Map<string, SchemaCheck>>()

  constructor(options: SchemaCompilerOptions = {}) {
    this.#useDefaults = options.useDefaults ?? true
  }

  compile<S extends Schema>(schema: S, label: string): SchemaCheck<SchemaOutput<S>> {
    if (typeof schema !== 'object' || schema === null) {
      throw new EchoError(ErrorCodes.E_CONFIG, `a schema must be a JSON Schema object or a Standard Schema validator (zod, valibot, arktype…), got ${describe(schema)}`)
    }
    let byLabel = this.#checks.get(schema)
    let check = byLabel?.get(label)
    if (check === undefined) {
      const fallback = this.#useDefaults ? rootDefault(schema as JsonSchema) : undefined
      check = isStandardSchema(schema) ? standardCheck(schema, label) : (value) => ({ ok: true, value: fallback !== undefined && (value === undefined || value === null) ? fallback() : value })
      if (byLabel === undefined) this.#checks.set(schema, (byLabel = new Map()))
      byLabel.set(label, check)
    }
    return check as SchemaCheck<SchemaOutput<S>>
  }
}
