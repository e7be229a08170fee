/** The collector's bounds: the errors ring, the method cap, the per-second rates. */
import { describe, expect, it } from 'vitest'
import type { Frame, Session } from '@echostream/kernel'
import { Collector, RateMeter, WINDOW } from '../../src/collector.js'

const session = (id: string) => ({ id, peer: `127.0.0.1:${id.length}` }) as unknown as Session
const req = (name: unknown): Frame => ({ kind: 'rpc.req', id: 1, name }) as Frame

describe('Collector', () => {
  it('keeps the last maxErrors errors, newest first', () => {
    const c = new Collector(3)
    for (let i = 0; i < 7; i++) c.error({ source: 'protocol', code: `E_${i}`, message: 'x'.repeat(1000) })
    expect(c.recentErrors().map((e) => e.code)).toEqual(['E_6', 'E_5', 'E_4'])
    expect(c.errorsTotal).toBe(7)
    expect(c.recentErrors()[0]!.message).toHaveLength(300)
    const one = new Collector(5)
    one.error({ source: 'rpc', code: 42, message: undefined }, session('abc'))
    expect(one.recentErrors()).toEqual([{ at: expect.any(Number), source: 'rpc', code: 'E_UNKNOWN', message: '', session: 'abc', peer: '127.0.0.1:3' }])
  })

  it('counts calls per method; a peer inventing names cannot grow the table past 200 (+ other)', () => {
    const c = new Collector(10)
    const s = session('s1')
    for (let i = 0; i < 1000; i++) c.inbound(req(`m${i}`), s, 10)
    c.inbound(req(42), s, 10)
    expect(c.methods.size).toBe(201)
    expect(c.methods.get('other')!.total).toBe(801)
    expect(c.of(s)).toMatchObject({ calls: 1001, framesIn: 1001, bytesIn: 10010 })
    c.sent({ kind: 'rpc.err', id: 1, payload: { code: 'E_NOPE', message: 'no' } } as Frame, s, 20)
    expect(c.of(s)).toMatchObject({ framesOut: 1, bytesOut: 20 })
    expect(c.recentErrors()[0]).toMatchObject({ source: 'rpc', code: 'E_NOPE', session: 's1' })
  })

  it('rates average the complete seconds of the window', () => {
    const m = new RateMeter()
    m.add(50) // the second still filling does not count
    expect(m.perSec()).toBe(0)
    m.tick()
    expect(m.perSec()).toBe(50 / WINDOW)
    for (let i = 0; i < WINDOW; i++) m.tick()
    expect(m.perSec()).toBe(0) // out of the window
    expect(m.total).toBe(50)
  })
})
