/**
 * WsConnection#answerPing on its own (a stand-in socket whose pongs are never written): the
 * server answers pings itself (ws's autoPong is off) with ws's cap — a peer with 60 pongs unwritten
 * is terminated; written pongs free their place.
 */
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { WsConnection } from '../../src/connection.js'

class StandInSocket extends EventEmitter {
  readyState = 1
  binaryType = 'nodebuffer'
  terminated = 0
  readonly pongs: Array<{ data: Buffer; written: () => void }> = []
  pong(data: Buffer, _mask: boolean, written: () => void): void {
    this.pongs.push({ data, written })
  }
  terminate(): void {
    this.terminated++
  }
}

function serverConnection() {
  const socket = new StandInSocket()
  const connection = new WsConnection(socket as unknown as WebSocket, 'peer:1', { highWaterMark: 1 << 20, closeTimeoutMs: 1000, connections: new Set() })
  return { socket, connection }
}

describe('WsConnection#answerPing (server)', () => {
  it('answers each ping with its data until 60 pongs are unwritten, then terminates the peer', () => {
    const { socket, connection } = serverConnection()
    for (let i = 0; i < 60; i++) connection.answerPing(Buffer.from([i]))
    expect(socket.pongs.map((p) => p.data[0])).toEqual(Array.from({ length: 60 }, (_, i) => i))
    expect(socket.terminated).toBe(0)
    connection.answerPing(Buffer.from([60]))
    expect(socket.pongs).toHaveLength(60)
    expect(socket.terminated).toBe(1)
  })

  it('a written pong frees its place; a closed socket gets no pong', () => {
    const { socket, connection } = serverConnection()
    for (let i = 0; i < 60; i++) connection.answerPing(Buffer.from([i]))
    socket.pongs[0]!.written()
    connection.answerPing(Buffer.from([99]))
    expect(socket.terminated).toBe(0)
    expect(socket.pongs.at(-1)!.data[0]).toBe(99)
    socket.readyState = 2
    connection.answerPing(Buffer.from([100]))
    expect(socket.pongs).toHaveLength(61)
  })
})
