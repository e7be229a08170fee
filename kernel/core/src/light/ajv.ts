/**
 * What a page gets for `ajv` (the kernel's package.json `browser` field maps its `ajv` import here,
 * so every bundler targeting browsers picks it): no schema compiler, a walk over the keywords
 * plugin options and typical RPC params use, reporting problems
 * in ajv's shape (with `data` and `parentSchema`, as ajv's `verbose`). A schema with any other
 * keyword is refused when compiled — nothing passes unchecked; a page that needs more uses a
 * Standard Schema validator (zod, valibot…). ajv and its URI parser are 120 KB minified, six
 * times the page's size budget. test/browser/light-checks.test.ts compares it with ajv.
 */
export interface ErrorObject {
  instancePath: string
  schemaPath: string
  keyword: string
  params: Record<string, unknown>
  message: string
  data: unknown
  parentSchema: object
}
export type ValidateFunction = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null }

type S = Record<string, unknown> & { properties?: Record<string, S>; items?: S; additionalProperties?: boolean | S }
const KEYWORDS = ['type', 'properties', 'additionalProperties', 'required', 'default', 'enum', 'const', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'items', 'minItems', 'maxItems', 'description', 'title', '$schema', '$id', 'examples']

function known(schema: S, at: string): void {
  if (typeof schema !== 'object' || schema === null) throw new Error(`${at || '/'} is not a schema object`)
  for (const key of Object.keys(schema)) {
    if (!KEYWORDS.includes(key)) throw new Error(`keyword '${key}' at ${at || '/'} is not checked in a browser bundle (no JSON Schema compiler in the page): use a Standard Schema validator (zod, valibot…) or only ${KEYWORDS.slice(0, 15).join(', ')}`)
  }
  for (const [key, sub] of Object.entries(schema.properties ?? {})) known(sub, `${at}/properties/${key}`)
  if (schema.items) known(schema.items, `${at}/items`)
  if (typeof schema.additionalProperties === 'object') known(schema.additionalProperties, `${at}/additionalProperties`)
}

const is = (type: string, v: unknown): boolean =>
  type === 'integer' ? Number.isInteger(v) : type === 'number' ? typeof v === 'number' && Number.isFinite(v) : type === 'array' ? Array.isArray(v) : type === 'null' ? v === null : type === 'object' ? typeof v === 'object' && v !== null && !Array.isArray(v) : typeof v === type

function walk(s: S, v: unknown, path: string, errors: ErrorObject[], defaults: boolean): void {
  const fail = (keyword: string, message: string, params: Record<string, unknown> = {}) => void errors.push({ instancePath: path, schemaPath: '', keyword, params, message, data: v, parentSchema: s })
  const types = s.type === undefined ? [] : ([] as string[]).concat(s.type as string)
  // As ajv with allErrors: a failed type is one error, and the keywords that apply to the value's
  // actual kind still run (1.5 against `integer, minimum 1024` fails both).
  if (types.length && !types.some((t) => is(t, v))) fail('type', `must be ${types.join(',')}`, { type: types.join(',') })
  if (s.enum && !(s.enum as unknown[]).includes(v)) fail('enum', 'must be equal to one of the allowed values', { allowedValues: s.enum })
  if ('const' in s && s.const !== v) fail('const', 'must be equal to constant', { allowedValue: s.const })
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) fail('minimum', `must be >= ${s.minimum}`)
    if (typeof s.maximum === 'number' && v > s.maximum) fail('maximum', `must be <= ${s.maximum}`)
  }
  if (typeof v === 'string') {
    if (typeof s.minLength === 'number' && v.length < s.minLength) fail('minLength', `must NOT have fewer than ${s.minLength} characters`)
    if (typeof s.maxLength === 'number' && v.length > s.maxLength) fail('maxLength', `must NOT have more than ${s.maxLength} characters`)
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) fail('pattern', `must match pattern "${s.pattern}"`)
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) fail('minItems', `must NOT have fewer than ${s.minItems} items`)
    if (typeof s.maxItems === 'number' && v.length > s.maxItems) fail('maxItems', `must NOT have more than ${s.maxItems} items`)
    if (s.items) v.forEach((item, i) => walk(s.items!, item, `${path}/${i}`, errors, defaults))
  }
  if (!is('object', v)) return
  const o = v as Record<string, unknown>
  const props = s.properties ?? {}
  for (const [key, sub] of Object.entries(props)) {
    if (defaults && o[key] === undefined && sub.default !== undefined) o[key] = structuredClone(sub.default)
    if (o[key] !== undefined) walk(sub, o[key], `${path}/${key}`, errors, defaults)
  }
  for (const key of (s.required as string[] | undefined) ?? []) if (o[key] === undefined) fail('required', `must have required property '${key}'`, { missingProperty: key })
  if (s.additionalProperties !== undefined && s.additionalProperties !== true) {
    for (const key of Object.keys(o)) {
      if (key in props) continue
      if (s.additionalProperties === false) fail('additionalProperties', 'must NOT have additional properties', { additionalProperty: key })
      else walk(s.additionalProperties, o[key], `${path}/${key}`, errors, defaults)
    }
  }
}

/** The part of ajv's API the kernel uses: `new Ajv({ useDefaults })`, `compile(schema)`. */
export class Ajv {
  readonly #defaults: boolean
  constructor(options: { useDefaults?: boolean } = {}) {
    this.#defaults = options.useDefaults === true
  }

  compile(schema: object): ValidateFunction {
    known(schema as S, '')
    const defaults = this.#defaults
    const validate: ValidateFunction = (value) => {
      const errors: ErrorObject[] = []
      walk(schema as S, value, '', errors, defaults)
      validate.errors = errors.length ? errors : null
      return errors.length === 0
    }
    return validate
  }
}

export default Ajv
