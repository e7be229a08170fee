/**
 * What a browser bundle carries instead of ajv, semver and tapable (the kernel's package.json
 * `browser` field maps its imports to kernel/core/src/light/): the light JSON Schema check, kernel-
 * range check and hooks give the answers of the real ones — compared here on every client
 * plugin's options schema, a table of ranges and the same taps.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { Ajv as LightAjv } from '../../kernel/core/src/light/ajv.js'
import { satisfies, validRange } from '../../kernel/core/src/light/semver.js'
import * as lightTapable from '../../kernel/core/src/light/tapable.js'
import { checkKernelRange as pageKernelRange } from '../../kernel/core/src/kernel-range.browser.js'
import { KERNEL_VERSION } from '../../kernel/core/src/version.js'
import { describe as pageDescribe } from '../../kernel/core/src/describe.browser.js'
import { schema as transportWs } from '../../plugins/transport-ws/src/options.js'
import { schema as codec } from '../../plugins/codec-msgpack/src/options.js'
import { schema as rpc } from '../../plugins/rpc/src/options.js'
import { schema as events } from '../../plugins/events/src/options.js'
import { schema as reconnect } from '../../plugins/reconnect/src/options.js'
import { schema as streams } from '../../plugins/streams/src/options.js'

// The real ones, as the kernel's Node build uses them (its own dependencies).
const kernelRequire = createRequire(createRequire(import.meta.url).resolve('@echostream/kernel/package.json'))
type Validate = ((value: unknown) => boolean) & { errors?: Array<{ keyword: string }> | null }
const { Ajv } = kernelRequire('ajv') as { Ajv: new (options: object) => { compile(schema: object): Validate } }
const semverSatisfies = kernelRequire('semver/functions/satisfies.js') as (version: string, range: string, options?: object) => boolean
const semverValid = kernelRequire('semver/ranges/valid.js') as (range: string) => string | null

const SCHEMAS = { transportWs, codec, rpc, events, reconnect, streams } as Record<string, object>

describe('light checks in the browser bundle', () => {
  it('the JSON Schema check agrees with ajv on every client plugin options schema (defaults too)', () => {
    const light = new LightAjv({ useDefaults: true })
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false })
    const inputs: unknown[] = [{}, { nope: 1 }, null, 'x', [], { maxPayload: -1 }, { maxPayload: 1.5 }, { highWaterMark: '1' }, { initialDelayMs: 0 }, { maxDelayMs: 1e12 }, { bigint: 'yes' }, { maxDepth: 7 }, { window: 0 }, { path: 'no-slash' }, { path: '/ok' }]
    let compared = 0
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      const a = ajv.compile(schema)
      const b = light.compile(schema)
      for (const input of inputs) {
        const x = structuredClone(input)
        const y = structuredClone(input)
        const verdict = [a(x), b(y)]
        expect(verdict[1], `${name} ${JSON.stringify(input)}: ${JSON.stringify(b.errors)} vs ${JSON.stringify(a.errors)}`).toBe(verdict[0])
        expect(y, `${name} ${JSON.stringify(input)} defaults`).toEqual(x)
        if (!verdict[0]) expect(b.errors!.map((e) => e.keyword).sort()).toEqual(a.errors!.map((e) => e.keyword).sort())
        compared++
      }
    }
    expect(compared).toBe(Object.keys(SCHEMAS).length * inputs.length)
  })

  it('checks required, items and lengths, and refuses a keyword it cannot check', () => {
    const light = new LightAjv({ useDefaults: true })
    const check = light.compile({ type: 'object', properties: { name: { type: 'string', minLength: 1 }, tags: { type: 'array', items: { type: 'string' }, maxItems: 2 } }, required: ['name'], additionalProperties: false })
    expect(check({ name: 'a', tags: ['x'] })).toBe(true)
    expect(check({ tags: ['x', 1, 'z'] })).toBe(false)
    expect(check.errors!.map((e) => `${e.instancePath} ${e.keyword}`).sort()).toEqual(['/tags maxItems', '/tags/1 type', ' required'].sort())
    expect(() => light.compile({ type: 'string', format: 'email' })).toThrow(/keyword 'format' at \/ is not checked in a browser bundle/)
    expect(() => light.compile({ type: 'object', properties: { a: { oneOf: [] } } })).toThrow(/'oneOf' at \/properties\/a/)
  })

  it('the kernel-range check agrees with semver', () => {
    const versions = ['0.0.3', '0.1.0', '0.2.5', '1.0.0', '1.2.3', '1.3.0', '1.99.1', '2.0.0', '2.1.0-beta.1', '3.0.0']
    const ranges = ['^1', '^1.2', '^1.2.3', '^0', '^0.0', '^0.2.3', '^0.0.3', '~1', '~1.2', '~1.2.3', '1', '1.x', '1.2.x', '*', '1.2.3', '>=1.2.3', '>1', '>1.2', '<2', '<=1.2.3', '<=1', '<=1.2', '>=1.0.0 <2', '^1 || ^2', '1.x || >=3', 'v1.2.3', '=1.2.3']
    for (const range of ranges) {
      expect(validRange(range), range).not.toBeNull()
      for (const version of versions) expect(satisfies(version, range), `${version} in ${range}`).toBe(semverSatisfies(version, range, { includePrerelease: true }))
    }
    for (const bad of ['not a range', '^x.y', '>>1', '1.2.3.4']) {
      expect(validRange(bad), bad).toBeNull()
      expect(semverValid(bad), bad).toBeNull()
    }
  })

  it('the page checks a plugin\'s kernel range without semver: a caret range of another major and a missing range are refused', () => {
    const major = Number(KERNEL_VERSION.split('.')[0])
    const plugin = (kernel: unknown) => ({ name: 'p', version: '1.0.0', kernel, setup() {} }) as never
    for (const kernel of [`^${major}`, `^${major}.2`, ` ^v${major}`, `>=${major}.0.0`, '*', `${major}.x`]) expect(() => pageKernelRange(plugin(kernel)), kernel).not.toThrow()
    for (const kernel of [`^${major + 1}`, `^${major + 1}.0.0`, '', undefined, 1]) expect(() => pageKernelRange(plugin(kernel)), String(kernel)).toThrow(expect.objectContaining({ code: 'E_PLUGIN' }))
  })

  it('the page describes any value in a few words and never throws', () => {
    const hostile = new Proxy({}, { get() { throw new Error('no') }, getPrototypeOf() { throw new Error('no') }, ownKeys() { throw new Error('no') } })
    const { proxy: revoked, revoke } = Proxy.revocable({}, {})
    revoke()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const cases: Array<[unknown, string]> = [
      ['big', '"big"'], ['x'.repeat(100), JSON.stringify(`${'x'.repeat(60)}…`)], [1.5, '1.5'], [NaN, 'NaN'], [true, 'true'], [undefined, 'undefined'], [null, 'null'],
      [10n ** 80n, `${'1' + '0'.repeat(59)}…n`], [Symbol('s'), 'a symbol'], [() => 1, 'a function'], [[1, 2], 'an array of 2'],
      [new Uint8Array(3), 'a Uint8Array of 3 bytes'], [new Map(), 'a Map'], [cyclic, 'an object'], [Object.create(null), 'an object'],
    ]
    for (const [value, text] of cases) expect(pageDescribe(value)).toBe(text)
    for (const value of [hostile, revoked]) expect(typeof pageDescribe(value)).toBe('string')
  })

  it('the hooks agree with tapable: order by stage and before, declared arguments, bail, waterfall, series, parallel', async () => {
    const real = kernelRequire('tapable') as typeof lightTapable
    const run = async (t: typeof lightTapable) => {
      const log: string[] = []
      const sync = new t.SyncHook(['a', 'b'])
      const taps: Array<[string, { stage?: number; before?: string | string[] }]> = [['a', {}], ['b', { stage: -10 }], ['c', { stage: 10 }], ['d', { before: 'a' }], ['e', {}], ['f', { stage: 10, before: ['c', 'e'] }], ['g', { stage: -10 }], ['h', { before: 'nobody' }]]
      for (const [name, options] of taps) sync.tap({ name, ...options }, (...args: unknown[]) => void log.push(`${name}:${args.length}`))
      sync.call(1, 2, 3)
      const bail = new t.SyncBailHook(['x'])
      bail.tap('none', () => undefined)
      bail.tap('yes', (x: unknown) => `bail ${x}`)
      bail.tap('never', () => void log.push('never'))
      const waterfall = new t.SyncWaterfallHook(['v', 'w'])
      waterfall.tap('add', (v: unknown) => (v as number) + 1)
      waterfall.tap('keep', () => undefined)
      waterfall.tap('double', (v: unknown, w: unknown) => (v as number) * 2 + (w as number))
      const series = new t.AsyncSeriesHook(['s'])
      series.tapPromise('p', async (s: unknown) => void log.push(`p${s}`))
      series.tap('q', (s: unknown) => void log.push(`q${s}`))
      series.tapAsync('r', (s: unknown, done: unknown) => void setTimeout(() => (log.push(`r${s}`), (done as () => void)()), 1))
      const parallel = new t.AsyncParallelHook(['d'])
      parallel.tapPromise('slow', () => new Promise((resolve) => setTimeout(() => resolve(log.push('slow')), 5)))
      parallel.tap('fast', () => void log.push('fast'))
      const failing = new t.AsyncSeriesHook([])
      failing.tap('throws', () => {
        throw new Error('boom')
      })
      return { log, order: sync.taps.map((tap) => tap.name), bail: bail.call('!'), waterfall: waterfall.call(1, 10), series: await series.promise(7), parallel: await parallel.promise(0), failing: await failing.promise().catch((e: Error) => e.message) }
    }
    expect(await run(lightTapable)).toEqual(await run(real))
  })
})
