/**
 * A frame sent with `binaryTail` (outbound-parts.ts): in parts to a transport that takes them, whole
 * otherwise (no `sendParts`, a `sent` tap that needs the bytes, a frame without a tail), with the
 * same admission checks as a whole frame. In-memory transport and a JSON codec whose `encodeParts`
 * splits off a trailing binary payload; the integration tests compare the real parts' bytes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createKernel, type EchoKernel } from '../../src/kernel.js'
import { definePlugin } from '../../src/plugin.js'
import { EchoError } from '../../src/errors.js'
import type { Frame } from '../../src/frame.js'
import type { SessionImpl } from '../../src/session.js'
import type { Codec } from '../../src/transport.js'
import { jsonCodec, memoryNetwork } from './memory-wire.js'

const kernels: EchoKernel[] = []
afterEach(async () => {
  for (const k of kernels.splice(0).reverse()) await k.stop().catch(() => {})
})

/** JSON with a binary payload written as its bytes after the envelope (one message either way). */
const tailCodec: Codec = {
  ...jsonCodec,
  encode(frame: Frame) {
    const parts = tailCodec.encodeParts!(frame)
    if (!parts) return jsonCodec.encode(frame)
    const joined = new Uint8Array(parts[0]!.length + parts[1]!.length)
    joined.set(parts[0]!)
    joined.set(parts[1]!, parts[0]!.length)
    return joined
  },
  encodeParts(frame: Frame) {
    if (!(frame.payload instanceof Uint8Array)) return undefined
    if (frame.kind === 'bad') throw new Error('cannot split this one')
    return [jsonCodec.encode({ ...frame, payload: frame.payload.length }), frame.payload]
  },
}

async function client() {
  const net = memoryNetwork()
  const codec = definePlugin({ name: 'codec-tail', version: '1.0.0', kernel: '^1', provides: ['codec'], setup: (kernel) => kernel.provide('codec', tailCodec) })
  const server = await createKernel({ role: 'server', plugins: [net.server, codec] })
  kernels.push(server)
  await server.start()
  const kernel = await createKernel({ role: 'client', url: 'memory://server', plugins: [net.client, codec], outboundBudget: 1000 })
  kernels.push(kernel)
  await kernel.start()
  const session = kernel.session as unknown as SessionImpl
  const written: Array<{ parts: number[]; length: number }> = []
  const wholes: number[] = []
  const connection = session.connection
  const send = connection.send.bind(connection)
  connection.send = (bytes) => {
    wholes.push(bytes.length)
    send(bytes)
  }
  connection.sendParts = (parts, length) => void written.push({ parts: parts.map((p) => p.length), length })
  return { kernel, session, written, wholes }
}

describe('a frame with a binary tail', () => {
  it('goes in parts to a transport that takes them, and counts as one encode of its full size', async () => {
    const { kernel, session, written, wholes } = await client()
    const encodes = kernel.stats().encodes
    const size = session.send({ kind: 'x.data', id: 1, payload: new Uint8Array(300) }, { binaryTail: true })
    expect(written).toEqual([{ parts: [written[0]!.parts[0]!, 300], length: size }])
    expect(size).toBe(written[0]!.parts[0]! + 300)
    expect(wholes).toEqual([])
    expect(kernel.stats().encodes).toBe(encodes + 1)
    // No tail: whole.
    session.send({ kind: 'x.data', id: 2, payload: 'text' }, { binaryTail: true })
    expect(written).toHaveLength(1)
    expect(wholes).toHaveLength(1)
  })

  it('goes whole when a sent tap needs its bytes, or the transport takes no parts', async () => {
    const { kernel, session, written, wholes } = await client()
    const seen: number[] = []
    kernel.hooks.sent.tap('watch', (bytes: Uint8Array) => void seen.push(bytes.length))
    const size = session.send({ kind: 'x.data', payload: new Uint8Array(10) }, { binaryTail: true })
    expect(written).toEqual([])
    expect(wholes).toEqual([size])
    expect(seen).toEqual([size])
  })

  it('is checked as a whole frame: over the budget a volatile one is dropped; a codec failure is E_CODEC', async () => {
    const { kernel, session, written } = await client()
    expect(session.send({ kind: 'x.data', payload: new Uint8Array(2000) }, { binaryTail: true, volatile: true })).toBe(0)
    expect(written).toEqual([])
    expect(kernel.stats().volatileDropped).toBe(1)
    let error: unknown
    try {
      session.send({ kind: 'bad', payload: new Uint8Array(1) }, { binaryTail: true })
    } catch (e) {
      error = e
    }
    expect(EchoError.is(error) && error.code).toBe('E_CODEC')
  })
})
