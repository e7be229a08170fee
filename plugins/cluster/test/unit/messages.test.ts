/** Byte-level: what crosses nodes parses back exactly, and garbage never throws. */
import { describe, expect, it } from 'vitest'
import { pack, packBody, parseEntry, parseTagged } from '../../src/messages.js'
import { parseRpc, parseState } from '../../src/session-log.js'
import { createKeys } from '../../src/keys.js'

describe('cluster messages', () => {
  it('a tagged channel message round-trips: epoch, offset, origin, targets, except, frame (binary kept binary), volatile', () => {
    const frame = { kind: 'events.emit', name: 'tick', payload: { n: 1, bin: new Uint8Array([1, 2, 3]) } }
    const body = packBody('node-a', ['r1', 'r2'], ['s1'], frame, true)
    const message = parseTagged(Buffer.concat([Buffer.from('ab12cd:42:'), body]))
    expect(message).toMatchObject({ epoch: 'ab12cd', offset: 42, origin: 'node-a', targets: ['r1', 'r2'], except: ['s1'], volatile: true })
    expect(message!.frame.name).toBe('tick')
    expect(new Uint8Array((message!.frame.payload as { bin: Uint8Array }).bin)).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('a history entry (XRANGE shape) parses with its offset', () => {
    const body = packBody('n', null, null, { kind: 'events.emit', name: 'x' })
    expect(parseEntry('e1', ['7-0', ['b', body]])).toMatchObject({ epoch: 'e1', offset: 7, targets: null, except: null, volatile: false })
  })

  it('garbage is undefined, never a throw', () => {
    for (const bad of [Buffer.from(''), Buffer.from('no-colons'), Buffer.from('e:x:'), Buffer.from([0x65, 0x3a, 0x31, 0x3a, 0xc1]), Buffer.concat([Buffer.from('e:1:'), pack({ not: 'an array' })])]) {
      expect(parseTagged(bad)).toBeUndefined()
    }
    expect(parseEntry('e', 'nope')).toBeUndefined()
    expect(parseEntry('e', ['x-0', ['b', Buffer.from('e')]])).toBeUndefined()
  })

  it('session state and the RPC cache parse from HGETALL replies', () => {
    const data = pack({ user: 'ada' })
    const { fields, data: raw } = parseState(['token', Buffer.from('t'), 'rcv', Buffer.from('12'), 'data', data, 'ro:lobby', Buffer.from('e:3')])
    expect(Object.fromEntries(fields)).toEqual({ token: 't', rcv: '12', 'ro:lobby': 'e:3' })
    expect(raw).toEqual(data)
    const { running, answered } = parseRpc(['4', Buffer.from('r:pay'), '5', Buffer.from([0x93, 1, 2, 3]), 'x', Buffer.from('r:')])
    expect(running).toEqual([{ id: 4, method: 'pay' }])
    expect([...answered.keys()]).toEqual([5])
  })

  it('keys of one room and of one session share a hash tag', () => {
    const keys = createKeys('es')
    const room = keys.roomOf('lobby')
    for (const key of [room.meta, room.log, room.presence, room.info]) expect(key).toContain('{lobby}')
    const session = keys.session('abc')
    for (const key of [session.state, session.log, session.rpc]) expect(key).toContain('{abc}')
  })
})
