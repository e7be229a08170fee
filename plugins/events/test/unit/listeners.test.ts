import { describe, expect, it } from 'vitest'
import type { Logger, Session } from '@echostream/kernel'
import { Listeners } from '../../src/listeners.js'

const session = { id: 's1' } as Session

function setup(maxListeners = 10) {
  const log = { errors: [] as string[], warnings: [] as string[] }
  const logger: Logger = { info() {}, warn: (m) => void log.warnings.push(m), error: (m) => void log.errors.push(m) }
  return { listeners: new Listeners({ maxListeners, logger }), log }
}

describe('Listeners', () => {
  it('calls handlers in registration order with (data, session)', () => {
    const { listeners } = setup()
    const calls: string[] = []
    listeners.add('e', (d, s) => void calls.push(`a:${d}:${s.id}`), false, 'on')
    listeners.add('e', (d) => void calls.push(`b:${d}`), false, 'on')
    expect(listeners.dispatch('e', 1, session)).toBe(2)
    expect(listeners.dispatch('other', 1, session)).toBe(0)
    expect(calls).toEqual(['a:1:s1', 'b:1'])
  })

  it('unsubscribe removes exactly its own registration, once', () => {
    const { listeners } = setup()
    let n = 0
    const fn = () => void n++
    const first = listeners.add('e', fn, false, 'on')
    listeners.add('e', fn, false, 'on')
    first()
    first()
    expect(listeners.count('e')).toBe(1)
    listeners.dispatch('e', null, session)
    expect(n).toBe(1)
  })

  it('off(name, fn) removes every registration of fn; off(name) removes all', () => {
    const { listeners } = setup()
    const fn = () => {}
    listeners.add('e', fn, false, 'on')
    listeners.add('e', fn, true, 'once')
    listeners.add('e', () => {}, false, 'on')
    expect(listeners.off('e', fn)).toBe(2)
    expect(listeners.off('e', fn)).toBe(0)
    expect(listeners.off('e')).toBe(1)
    expect(listeners.count()).toBe(0)
    expect(listeners.names()).toEqual([])
  })

  it('once runs once, even when a handler re-enters dispatch', () => {
    const { listeners } = setup()
    let onceRuns = 0
    listeners.add('e', () => void listeners.dispatch('e', 'inner', session), false, 'on')
    listeners.add('e', () => void onceRuns++, true, 'once')
    listeners.dispatch('e', 'outer', session)
    listeners.dispatch('e', 'again', session)
    expect(onceRuns).toBe(1)
  })

  it('changes made during a dispatch apply from the next one', () => {
    const { listeners } = setup()
    const calls: string[] = []
    const late = () => void calls.push('late')
    listeners.add('e', () => {
      calls.push('first')
      listeners.add('e', late, false, 'on')
    }, false, 'on')
    listeners.dispatch('e', null, session)
    expect(calls).toEqual(['first'])
  })

  it('a throwing or rejecting handler is logged and the others still run', async () => {
    const { listeners, log } = setup()
    const calls: string[] = []
    listeners.add('e', () => {
      throw new Error('boom')
    }, false, 'on')
    listeners.add('e', () => Promise.reject('nope'), false, 'on')
    listeners.add('e', () => void calls.push('ok'), false, 'on')
    expect(() => listeners.dispatch('e', null, session)).not.toThrow()
    expect(calls).toEqual(['ok'])
    await new Promise((r) => setTimeout(r, 0))
    expect(log.errors).toHaveLength(2)
    expect(log.errors[0]).toMatch(/handler for 'e' failed \(session s1\): Error: boom/)
    expect(log.errors[1]).toMatch(/nope/)
  })

  it('a throwing logger does not break dispatch', () => {
    const listeners = new Listeners({ maxListeners: 0, logger: { info() {}, warn() {}, error() { throw new Error('logger down') } } })
    let ran = false
    listeners.add('e', () => { throw new Error('x') }, false, 'on')
    listeners.add('e', () => void (ran = true), false, 'on')
    expect(() => listeners.dispatch('e', null, session)).not.toThrow()
    expect(ran).toBe(true)
  })

  it('warns once per name above maxListeners; 0 never warns', () => {
    const { listeners, log } = setup(2)
    for (let i = 0; i < 5; i++) listeners.add('e', () => {}, false, 'on')
    expect(log.warnings).toHaveLength(1)
    expect(log.warnings[0]).toMatch(/3 handlers for 'e' \(maxListeners 2\)/)
    const quiet = setup(0)
    for (let i = 0; i < 50; i++) quiet.listeners.add('e', () => {}, false, 'on')
    expect(quiet.log.warnings).toHaveLength(0)
  })

  it('refuses a handler that is not a function', () => {
    const { listeners } = setup()
    expect(() => listeners.add('e', 'nope' as never, false, 'on')).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }))
  })
})
