/**
 * The sender against a recording socket (a stand-in for one module's unit test; the real socket is
 * in the integration tests): one write per turn for small frames, headers in hex, large messages
 * without a copy and in order, the early flush, close reasons cut on a character boundary.
 */
import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { COALESCE_LIMIT, DIRECT_BYTES, FrameSender, closeBody } from '../../src/sender.js'
import { FrameReceiver, type FrameSink } from '../../src/receiver.js'

function recordingSocket() {
  const log: Array<['write', Buffer | Uint8Array] | ['cork'] | ['uncork']> = []
  const socket = {
    destroyed: false,
    write: (bytes: Buffer) => void log.push(['write', bytes]),
    cork: () => void log.push(['cork']),
    uncork: () => void log.push(['uncork']),
  }
  return { socket: socket as unknown as Socket, log, writes: () => log.filter((e) => e[0] === 'write').map((e) => e[1] as Uint8Array) }
}

const tick = () => new Promise<void>((resolve) => process.nextTick(resolve))
const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('FrameSender', () => {
  it('coalesces the frames of one turn into one write, headers written into the same buffer', async () => {
    const { socket, writes } = recordingSocket()
    const sender = new FrameSender(socket)
    sender.message(Uint8Array.of(0xaa))
    sender.message(new Uint8Array(0))
    sender.ping()
    sender.message(Uint8Array.of(1, 2))
    expect(writes()).toEqual([])
    expect(sender.pending).toBe(4 * 5 + 3)
    await tick()
    expect(writes().map(hexOf)).toEqual(['0100000001aa' + '0100000000' + '0200000000' + '01000000020102'])
    expect(sender.pending).toBe(0)
    sender.message(Uint8Array.of(9))
    await tick()
    expect(writes()).toHaveLength(2)
  })

  it('writes a large message without copying it: pending frames first, then header + the same bytes, corked', async () => {
    const { socket, log } = recordingSocket()
    const sender = new FrameSender(socket)
    const big = new Uint8Array(DIRECT_BYTES)
    sender.message(Uint8Array.of(7))
    sender.message(big)
    expect(log.map((e) => e[0])).toEqual(['cork', 'write', 'write', 'write', 'uncork'])
    expect(hexOf(log[1]![1] as Uint8Array)).toBe('010000000107')
    expect(hexOf(log[2]![1] as Uint8Array)).toBe(`01${DIRECT_BYTES.toString(16).padStart(8, '0')}`)
    expect(log[3]![1]).toBe(big)
    await tick()
    expect(log).toHaveLength(5)
  })

  it('flushes early once a turn holds COALESCE_LIMIT bytes', () => {
    const { socket, writes } = recordingSocket()
    const sender = new FrameSender(socket)
    const chunk = new Uint8Array(DIRECT_BYTES - 1)
    let sent = 0
    while (writes().length === 0) {
      sender.message(chunk)
      sent += 5 + chunk.byteLength
    }
    expect(sent).toBeGreaterThanOrEqual(COALESCE_LIMIT)
    expect(writes()[0]!.byteLength).toBe(sent)
  })

  it('close frames: code + reason, cut to 123 bytes without splitting a character', () => {
    expect(hexOf(closeBody(1000, 'bye'))).toBe('03e8627965')
    const body = closeBody(4000, 'é'.repeat(100)) // 200 bytes of 2-byte characters
    expect(body.byteLength).toBe(2 + 122)
    expect(body.subarray(2).toString('utf8')).toBe('é'.repeat(61))
  })

  it('what it writes, the receiver reads back', async () => {
    const { socket, writes } = recordingSocket()
    const sender = new FrameSender(socket)
    const got: string[] = []
    const sink = { onFrameMessage: (b: Buffer) => void got.push(hexOf(b)), onPing: () => void got.push('ping'), onCloseFrame: (c: number, r: string) => void got.push(`close ${c} ${r}`) } as unknown as FrameSink
    const receiver = new FrameReceiver(sink, 1 << 20, false)
    const big = new Uint8Array(DIRECT_BYTES + 3).fill(5)
    sender.message(Uint8Array.of(1))
    sender.ping()
    sender.message(big)
    sender.message(Uint8Array.of(2))
    sender.close(1001, 'going')
    await tick()
    for (const bytes of writes()) receiver.push(Buffer.from(bytes))
    expect(got).toEqual(['01', 'ping', hexOf(big), '02', 'close 1001 going'])
  })
})
