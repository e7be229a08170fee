import { describe, expect, it } from 'vitest'
import type { Session } from '@echostream/kernel'
import { Rooms } from '../../src/rooms.js'

function fakeSession(id: string): Session & { state: Session['state'] } {
  return { id, state: 'open' } as Session & { state: Session['state'] }
}

describe('Rooms', () => {
  it('indexes membership both ways and deletes empty rooms', () => {
    const rooms = new Rooms()
    const [a, b] = [fakeSession('a'), fakeSession('b')]
    expect(rooms.join(a, 'r1')).toBe(true)
    expect(rooms.join(a, 'r1')).toBe(false)
    rooms.join(a, 'r2')
    rooms.join(b, 'r1')
    expect(rooms.names()).toEqual(['r1', 'r2'])
    expect(rooms.members('r1')).toEqual([a, b])
    expect(rooms.roomsOf(a)).toEqual(['r1', 'r2'])
    expect(rooms.leave(a, 'r2')).toBe(true)
    expect(rooms.leave(a, 'r2')).toBe(false)
    expect(rooms.names()).toEqual(['r1'])
    rooms.leaveAll(a)
    rooms.leaveAll(b)
    expect(rooms.names()).toEqual([])
    expect(rooms.members('r1')).toEqual([])
    expect(rooms.roomsOf(a)).toEqual([])
  })

  it('union lists a session in several rooms once', () => {
    const rooms = new Rooms()
    const [a, b, c] = [fakeSession('a'), fakeSession('b'), fakeSession('c')]
    rooms.join(a, 'x')
    rooms.join(b, 'y')
    rooms.join(c, 'x')
    rooms.join(c, 'y')
    expect([...rooms.union(['x', 'y', 'missing'])]).toEqual([a, c, b])
  })

  it('drops sessions that closed without a disconnect when read', () => {
    const rooms = new Rooms()
    const [a, b] = [fakeSession('a'), fakeSession('b')]
    rooms.join(a, 'r')
    rooms.join(b, 'solo')
    a.state = 'closed'
    b.state = 'closed'
    expect(rooms.members('r')).toEqual([])
    expect(rooms.names()).toEqual([])
  })
})
