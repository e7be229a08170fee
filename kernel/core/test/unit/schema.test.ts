/**
 * The kernel's one schema helper: JSON Schema through ajv (compiled once per schema object, `$id`s
 * local to a compiler) and any Standard Schema validator (a hand-made one here; zod is exercised
 * over the network in test/integration/rpc-schemas.test.ts). A check never throws.
 */
import { describe, expect, it } from 'vitest'
import { isStandardSchema, MAX_PROBLEMS, SchemaCompiler, type SchemaResult, type StandardSchemaV1 } from '../../src/index.js'

/** A Standard Schema validator for positive numbers, sync or async. */
function positive(mode: 'sync' | 'async' | 'throws'): StandardSchemaV1<unknown, number> {
  const judge = (value: unknown): StandardSchemaV1.Result<number> =>
    typeof value === 'number' && value > 0 ? { value: value * 10 } : { issues: [{ message: 'must be positive', path: ['n', { key: 0 }] }] }
  return {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (value) => {
        if (mode === 'throws') throw new Error('validator bug')
        return mode === 'async' ? Promise.resolve(judge(value)) : judge(value)
      },
    },
  }
}

describe('SchemaCompiler', () => {
  it('JSON Schema: problems under the label, defaults filled, compiled once per object', () => {
    const compiler = new SchemaCompiler()
    const schema = { type: 'object', required: ['a'], additionalProperties: false, properties: { a: { type: 'number' }, b: { type: 'string', default: 'x' } } }
    const check = compiler.compile(schema, 'params')
    expect(compiler.compile(schema, 'params')).toBe(check)
    expect(check({ a: 1 })).toEqual({ ok: true, value: { a: 1, b: 'x' } })
    expect(check({ a: 'one', c: 1 })).toEqual({ ok: false, problems: ["params has unknown property 'c'", 'params.a must be number'] })
  })

  it("JSON Schema: a root default fills a missing value (undefined or null); without one it is a mismatch", () => {
    const compiler = new SchemaCompiler()
    const optional = { type: 'object', default: {}, additionalProperties: false, properties: { limit: { type: 'integer', default: 10 } } }
    const check = compiler.compile(optional, 'params')
    expect(check(undefined)).toEqual({ ok: true, value: { limit: 10 } })
    expect(check(null)).toEqual({ ok: true, value: { limit: 10 } })
    expect(check({ limit: 3 })).toEqual({ ok: true, value: { limit: 3 } })
    expect(check('all')).toEqual({ ok: false, problems: ['params must be object'] })
    // a fresh copy each time: a handler that changes its params changes no later call's
    const first = check(undefined) as { ok: true; value: { limit: number } }
    first.value.limit = 99
    expect(check(undefined)).toEqual({ ok: true, value: { limit: 10 } })
    // a default that does not match the schema is reported like any other value
    expect(compiler.compile({ type: 'object', default: 'none' }, 'params')(undefined)).toEqual({ ok: false, problems: ['params must be object'] })
    // no root default: nothing to fill
    expect((compiler.compile({ type: 'object' }, 'params')(undefined) as SchemaResult).ok).toBe(false)
    // useDefaults: false fills nothing, at the root either
    expect((new SchemaCompiler({ useDefaults: false }).compile(optional, 'params')(undefined) as SchemaResult).ok).toBe(false)
  })

  it('a schema with an $id compiles under two labels, and in two compilers', () => {
    const schema = { $id: 'urn:test:point', type: 'object', required: ['x'] }
    const a = new SchemaCompiler()
    expect((a.compile(schema, 'params')({}) as SchemaResult).ok).toBe(false)
    expect((a.compile(schema, 'result')({ x: 1 }) as SchemaResult).ok).toBe(true)
    expect((new SchemaCompiler().compile(schema, 'data')({}) as SchemaResult).ok).toBe(false)
  })

  it('lists at most MAX_PROBLEMS problems and counts the rest', () => {
    const properties = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`p${i}`, { type: 'number' }]))
    const check = new SchemaCompiler().compile({ type: 'object', properties }, 'data')
    const result = check(Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`p${i}`, 'x']))) as SchemaResult
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.problems).toHaveLength(MAX_PROBLEMS + 1)
      expect(result.problems.at(-1)).toBe('and 5 more')
    }
  })

  it('Standard Schema: sync answers stay sync, async ones are promises; the output is the value; paths are spelled', async () => {
    const compiler = new SchemaCompiler()
    const sync = compiler.compile(positive('sync'), 'meta')
    expect(sync(2)).toEqual({ ok: true, value: 20 })
    expect(sync(-1)).toEqual({ ok: false, problems: ['meta.n[0]: must be positive'] })
    const pending = compiler.compile(positive('async'), 'meta')(3)
    expect(pending).toBeInstanceOf(Promise)
    expect(await pending).toEqual({ ok: true, value: 30 })
  })

  it('never throws from a check: a validator that throws is a problem', () => {
    const result = new SchemaCompiler().compile(positive('throws'), 'params')(1) as SchemaResult
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.problems[0]).toMatch(/params could not be checked: the validator threw validator bug/)
  })

  it('refuses what is not a schema with E_CONFIG saying why', () => {
    const compiler = new SchemaCompiler()
    expect(() => compiler.compile('nope' as never, 'params')).toThrow(expect.objectContaining({ code: 'E_CONFIG', message: expect.stringMatching(/JSON Schema object or a Standard Schema/) }))
    expect(() => compiler.compile({ type: 'no-such-type' }, 'params')).toThrow(expect.objectContaining({ code: 'E_CONFIG', message: expect.stringMatching(/not a valid JSON Schema/) }))
  })

  it('isStandardSchema never throws (a Proxy whose traps throw is simply not one)', () => {
    const hostile = new Proxy({}, { get: () => { throw new Error('trap') } })
    expect(isStandardSchema(hostile)).toBe(false)
    expect(isStandardSchema(positive('sync'))).toBe(true)
    expect(isStandardSchema({ type: 'object' })).toBe(false)
  })
})
