/**
 * Loader ordering (src/order.ts): capabilities before their users, config order kept
 * otherwise, and clear refusals for what cannot work.
 */
import { describe, expect, it } from 'vitest'
import { checkKernelRange, checkRole, orderPlugins } from '../../src/order.js'
import { KERNEL_VERSION } from '../../src/version.js'
import { EchoError } from '../../src/errors.js'
import type { PluginDefinition } from '../../src/plugin.js'

function p(name: string, extra: Partial<PluginDefinition> = {}): PluginDefinition {
  return { name, version: '1.0.0', kernel: '^1', setup() {}, ...extra }
}
const names = (plugins: PluginDefinition[]) => plugins.map((x) => x.name)

function refusal(fn: () => unknown): EchoError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(EchoError)
    return error as EchoError
  }
  throw new Error('expected a refusal')
}

describe('orderPlugins', () => {
  it('keeps config order when nothing requires anything', () => {
    expect(names(orderPlugins([p('c'), p('a'), p('b')]))).toEqual(['c', 'a', 'b'])
  })

  it('moves providers before the plugins that require them, and nothing else', () => {
    const rpc = p('rpc', { provides: ['rpc'], requires: ['transport', 'codec'] })
    const events = p('events', { provides: ['events'], requires: ['rpc'] })
    const ws = p('transport-ws', { provides: ['transport'] })
    const msgpack = p('codec-msgpack', { provides: ['codec'] })
    const logger = p('logger')
    expect(names(orderPlugins([events, logger, rpc, ws, msgpack]))).toEqual(['transport-ws', 'codec-msgpack', 'rpc', 'events', 'logger'])
  })

  it('honours optional capabilities when present and ignores them when absent', () => {
    const metrics = p('metrics', { optional: ['rpc'] })
    const rpc = p('rpc', { provides: ['rpc'] })
    expect(names(orderPlugins([metrics, rpc]))).toEqual(['rpc', 'metrics'])
    expect(names(orderPlugins([metrics]))).toEqual(['metrics'])
  })

  it('lets several plugins provide a multi-provider capability and orders all of them first', () => {
    const a = p('auth-token', { provides: ['auth'] })
    const b = p('auth-basic', { provides: ['auth'] })
    const user = p('admin', { requires: ['auth'] })
    expect(names(orderPlugins([user, a, b]))).toEqual(['auth-token', 'auth-basic', 'admin'])
  })

  it('counts already loaded plugins as providers (runtime load) and returns only the new ones', () => {
    const loaded = [p('transport-ws', { provides: ['transport'] }), p('codec-msgpack', { provides: ['codec'] })]
    expect(names(orderPlugins([p('rpc', { requires: ['transport', 'codec'] })], loaded))).toEqual(['rpc'])
  })

  it('refuses a missing capability, naming plugin, capability and the package to add', () => {
    const error = refusal(() => orderPlugins([p('rpc', { requires: ['codec'] })]))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toMatch(/'rpc' requires capability 'codec'/)
    expect(error.message).toMatch(/@echostream\/plugin-codec-msgpack/)
  })

  it('refuses a cycle and names its members in order', () => {
    const a = p('a', { provides: ['A'], requires: ['B'] })
    const b = p('b', { provides: ['B'], requires: ['A'] })
    const error = refusal(() => orderPlugins([a, b]))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toMatch(/cycle \(a → b → a\)/)
  })

  it('refuses a cycle through an optional capability too', () => {
    const a = p('a', { provides: ['A'], optional: ['B'] })
    const b = p('b', { provides: ['B'], requires: ['A'] })
    expect(refusal(() => orderPlugins([a, b])).message).toMatch(/cycle/)
  })

  it('does not count a plugin requiring its own capability as a cycle', () => {
    expect(names(orderPlugins([p('self', { provides: ['x'], requires: ['x'] })]))).toEqual(['self'])
  })

  it('refuses two providers of a single-provider capability, also against loaded ones', () => {
    const a = p('transport-ws', { provides: ['transport'] })
    const b = p('transport-tcp', { provides: ['transport'] })
    expect(refusal(() => orderPlugins([a, b])).message).toMatch(/Two plugins provide 'transport' \(transport-ws and transport-tcp\)/)
    expect(refusal(() => orderPlugins([b], [a])).message).toMatch(/transport-ws and transport-tcp/)
    const c1 = p('codec-a', { provides: ['codec'] })
    const c2 = p('codec-b', { provides: ['codec'] })
    expect(refusal(() => orderPlugins([c1, c2])).message).toMatch(/'codec'/)
  })

  it('refuses the same plugin name twice, also against loaded ones', () => {
    expect(refusal(() => orderPlugins([p('x'), p('x')])).message).toMatch(/'x' is listed twice/)
    expect(refusal(() => orderPlugins([p('x')], [p('x')])).message).toMatch(/'x' is listed twice/)
  })
})

describe('checkKernelRange / checkRole', () => {
  it('accepts ranges this kernel satisfies', () => {
    expect(KERNEL_VERSION).toMatch(/^\d+\.\d+\.\d+/)
    const major = KERNEL_VERSION.split('.')[0]
    for (const kernel of [`^${major}`, `>=${major}.0.0`, '*', KERNEL_VERSION]) expect(() => checkKernelRange(p('ok', { kernel }))).not.toThrow()
  })

  it('refuses a range it does not satisfy, and an invalid one, with E_PLUGIN', () => {
    const next = Number(KERNEL_VERSION.split('.')[0]) + 1
    const error = refusal(() => checkKernelRange(p('future', { kernel: `^${next}` })))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain(`'future@1.0.0' needs @echostream/kernel ^${next}`)
    expect(refusal(() => checkKernelRange(p('bad', { kernel: 'banana' }))).message).toMatch(/no valid kernel range/)
    expect(refusal(() => checkKernelRange(p('none', { kernel: undefined as unknown as string }))).message).toMatch(/'none'/)
  })

  it('refuses a plugin in a role it does not support', () => {
    expect(() => checkRole(p('both'), 'client')).not.toThrow()
    expect(() => checkRole(p('srv', { roles: ['server'] }), 'server')).not.toThrow()
    const error = refusal(() => checkRole(p('srv', { roles: ['server'] }), 'client'))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toMatch(/'srv' works only in the server role/)
  })
})
