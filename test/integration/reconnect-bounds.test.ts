/**
 * Reconnect's buffers obey their bounds in frames and in real encoded bytes (issue #10 item 5,
 * must-show 4): the replay buffer is released as soon as the peer acknowledges; with a peer that
 * never acknowledges and 500 KB payloads it stays within `maxQueuedBytes` (counted and on the
 * heap); the client's offline queue refuses what does not fit, and drops volatile events.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { pack } from 'msgpackr'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import events from '@echostream/plugin-events'
import reconnect from '@echostream/plugin-reconnect'
import { onCleanup, sleep, track, until } from '../helpers/fixtures.js'

const KiB = 1024
const MiB = 1024 * KiB

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/** Heap plus buffers outside it (where encoded bytes live), after a full GC. */
function retained(): number {
  gc()
  gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

function cut(session: Session): void {
  ;(session as unknown as { connection: { socket: { terminate(): void } } }).connection.socket.terminate()
}

describe('reconnect buffer bounds', () => {
  it('with a peer that never acknowledges, 500 KB payloads keep the replay buffer within maxQueuedBytes (counted and on the heap)', async () => {
    const maxQueuedBytes = 2 * MiB
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, events, [reconnect, { maxQueuedBytes }]] }))
    await server.start()

    // A raw peer that completes the handshake, reads (and discards) everything, and never sends `reconnect.ack`.
    const peer = new WebSocket(server.url!, { perMessageDeflate: false })
    onCleanup(() => peer.terminate())
    let received = 0
    let bytesIn = 0
    peer.on('message', (data: Buffer) => {
      received++
      bytesIn += data.byteLength
    })
    await new Promise((resolve) => peer.once('open', resolve))
    peer.send(pack(['hello', null, null, { protocol: PROTOCOL_VERSION, codec: 'msgpack', plugins: { events: 1, reconnect: 1 }, limits: { maxPayload: 16 * MiB } }]))
    await until(() => received === 1 && server.sessions().length === 1, 5000, 'welcome')
    const session = server.sessions()[0]!

    // The encoder keeps a slab sized for the largest message it wrote: grow it before measuring.
    for (let n = 0; n < 4; n++) server.codec!.encode({ kind: 'warm-up', payload: { n, text: String(n).padEnd(500_000, '.') } })
    const before = retained()
    const COUNT = 40
    let peak = 0
    for (let n = 1; n <= COUNT; n++) {
      // A fresh 500 KB string per event, inside an object: the old buffer estimated such a frame at 64 bytes.
      session.emit('blob', { n, text: String(n).padEnd(500_000, '.') })
      peak = Math.max(peak, server.reconnect.buffered(session)!.bytes)
      await session.whenWritable()
    }
    await until(() => received === COUNT + 1, 10_000, 'the peer to read every event')
    expect(bytesIn).toBeGreaterThan(COUNT * 500_000)

    const buffer = server.reconnect.buffered(session)!
    expect(peak).toBeLessThanOrEqual(maxQueuedBytes)
    expect(buffer.bytes).toBeLessThanOrEqual(maxQueuedBytes)
    expect(buffer.frames).toBeGreaterThan(0) // it does keep what fits…
    expect(buffer.frames * 500_000).toBeLessThanOrEqual(maxQueuedBytes) // …measured by the real size
    expect(buffer.evicted).toBeGreaterThanOrEqual(COUNT - 4)
    expect(buffer.sent).toBe(COUNT)
    // What is really held: 20 MB went out; the buffer's bound plus a small constant stayed (measured:
    // +1.8 MB with reconnect, −0.2 MB for the same traffic without it).
    const grown = retained() - before
    expect(grown).toBeLessThan(maxQueuedBytes + 1 * MiB)
  })

  it('releases what it holds as soon as the peer acknowledges', async () => {
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, events, [reconnect, { ackIntervalMs: 5000 }]] }))
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, events, [reconnect, { ackIntervalMs: 20, ackEveryFrames: 1000 }]] }))
    let got = 0
    client.events.on('x', () => void got++)
    await client.start()
    const session = server.sessions()[0]!
    for (let n = 0; n < 100; n++) session.emit('x', new Uint8Array(10 * KiB))
    expect(server.reconnect.buffered(session)).toMatchObject({ frames: 100 })
    expect(server.reconnect.buffered(session)!.bytes).toBeGreaterThan(100 * 10 * KiB)
    await until(() => got === 100, 5000, 'delivery')
    // The client acknowledges within its ackIntervalMs (20 ms): everything is released.
    await until(() => server.reconnect.buffered(session)!.frames === 0, 2000, 'the acknowledgement')
    expect(server.reconnect.buffered(session)).toMatchObject({ frames: 0, bytes: 0, evicted: 0, sent: 100 })
  })

  it("the client's offline queue is bounded in frames and bytes: a full queue refuses (E_CLOSED, retryable), volatile events are dropped, the rest arrive once, in order", async () => {
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, events, [reconnect, { graceMs: 10_000 }]] }))
    const atServer: number[] = []
    server.events.on('n', (n: number) => void atServer.push(n))
    server.events.on('v', () => void atServer.push(-1))
    await server.start()
    const client = track(
      await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, events, [reconnect, { maxQueuedFrames: 5, maxQueuedBytes: 8 * KiB, initialDelayMs: 300, jitter: 0, ackIntervalMs: 20 }]] }),
    )
    const reconnected: Array<Record<string, unknown>> = []
    client.reconnect.on('reconnected', (e) => void reconnected.push(e))
    await client.start()
    await sleep(50) // let the welcome's bookkeeping settle (acks)
    cut(client.session!)
    await until(() => client.session!.state === 'suspended', 2000, 'suspended')

    // Frames: 5 fit; the 6th is refused, nothing older evicted.
    for (let n = 1; n <= 5; n++) client.events.emit('n', n)
    expect(() => client.events.emit('n', 6)).toThrow(expect.objectContaining({ code: 'E_CLOSED', retryable: true, message: expect.stringMatching(/queue is full/) }))
    // Volatile events are never queued offline: dropped and counted.
    expect(client.events.volatile.emit('v', 1)).toBe(false)
    expect(client.events.stats().volatileDropped).toBe(1)
    expect(client.reconnect.buffered()).toMatchObject({ frames: 5 })

    await until(() => reconnected.length === 1, 10_000, 'reconnected')
    expect(reconnected[0]).toMatchObject({ recovered: true })
    await until(() => atServer.length >= 5, 5000, 'the queued events')
    await sleep(100)
    expect(atServer).toEqual([1, 2, 3, 4, 5])

    // Bytes: 8 KiB hold two 3 KiB events, not three.
    cut(client.session!)
    await until(() => client.session!.state === 'suspended', 2000, 'suspended again')
    const held = client.reconnect.buffered()!.frames
    const blob = new Uint8Array(3 * KiB)
    let accepted = 0
    for (let i = 0; i < 3; i++) {
      try {
        client.events.emit('blob', blob)
        accepted++
      } catch (error) {
        expect(error).toMatchObject({ code: 'E_CLOSED', retryable: true })
      }
    }
    expect(accepted).toBeLessThanOrEqual(2)
    expect(client.reconnect.buffered()!.bytes).toBeLessThanOrEqual(8 * KiB)
    expect(client.reconnect.buffered()!.frames).toBe(held + accepted)
  })
})
