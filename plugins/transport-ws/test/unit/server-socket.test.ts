/**
 * ServerSocket#emit names ws's (at most two) event arguments instead of gathering them: every
 * listener must still see exactly the arguments emitted, however many.
 */
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { ServerSocket } from '../../src/liveness.js'

describe('ServerSocket#emit', () => {
  it('passes every event its own arguments, from none to more than ws ever sends', () => {
    // As ws's server makes its sockets (`new options.WebSocket(null, undefined, options)`).
    const socket = new ServerSocket(null as unknown as string, undefined, {})
    const seen: unknown[][] = []
    for (const event of ['open', 'message', 'close', 'custom']) socket.on(event, (...args: unknown[]) => seen.push([event, ...args]))
    const data = Buffer.from('hi')
    expect(socket.emit('open')).toBe(true)
    expect(socket.emit('message', data, true)).toBe(true)
    expect(socket.emit('close', 1000)).toBe(true)
    expect((socket as WebSocket).emit('custom', 1, 2, 3, 4)).toBe(true)
    expect(socket.emit('nobody-listens', 1)).toBe(false)
    expect(seen).toEqual([['open'], ['message', data, true], ['close', 1000], ['custom', 1, 2, 3, 4]])
  })
})
