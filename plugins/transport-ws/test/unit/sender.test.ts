/**
 * Byte-level tests of the client's frame from parts (sender.ts): the frames are fed to ws's own
 * Receiver (a server's), which must see exactly the joined parts as one binary message — for part
 * boundaries at every offset modulo 4 (the mask key rotates with them), lengths around the 7-, 16-
 * and 64-bit length forms, with bufferutil's mask and with a plain JavaScript one.
 */
import { describe, expect, it } from 'vitest'
import * as ws from 'ws'
import { maskedFrame, maskedMessage } from '../../src/sender.js'

type MaskFn = (source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number) => void
type ReceiverCtor = new (options: { isServer: boolean; maxPayload: number; binaryType: string }) => NodeJS.WritableStream & { on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): void; on(event: 'error', fn: (error: Error) => void): void }
const Receiver = (ws as unknown as { Receiver: ReceiverCtor }).Receiver

const jsMask: MaskFn = (source, mask, output, offset, length) => {
  for (let i = 0; i < length; i++) output[offset + i] = source[i]! ^ mask[i & 3]!
}

/** What ws's server-side receiver makes of these frames: the messages, or the error it closes with. */
function receive(frames: Buffer[][]): { messages: Buffer[]; binary: boolean[]; errors: Error[] } {
  const receiver = new Receiver({ isServer: true, maxPayload: 1 << 24, binaryType: 'nodebuffer' })
  const messages: Buffer[] = []
  const binary: boolean[] = []
  const errors: Error[] = []
  receiver.on('message', (data, isBinary) => {
    messages.push(Buffer.from(data))
    binary.push(isBinary)
  })
  receiver.on('error', (error) => errors.push(error))
  for (const buffers of frames) for (const buffer of buffers) receiver.write(buffer)
  return { messages, binary, errors }
}

const bytes = (n: number, seed: number) => Buffer.from(new Uint8Array(n).map((_, i) => (i * 131 + seed) & 0xff))

describe('transport-ws sender: a masked frame from parts', () => {
  const splits: Array<{ name: string; parts: Buffer[] }> = []
  for (const head of [0, 1, 2, 3, 4, 5, 30, 47, 48, 49]) splits.push({ name: `head ${head} + 4096`, parts: [bytes(head, 1), bytes(4096, 2)] })
  for (const total of [0, 1, 125, 126, 127, 65_535, 65_536, 65_537, 200_000]) splits.push({ name: `one part of ${total}`, parts: [bytes(total, 3)] })
  splits.push({ name: 'three parts, odd sizes', parts: [bytes(7, 4), bytes(49, 5), bytes(65_530, 6)] })

  it.each(splits)('$name: ws receives the parts joined, as one binary message (JavaScript mask and the one in use)', ({ parts }) => {
    const length = parts.reduce((n, p) => n + p.length, 0)
    const joined = Buffer.concat(parts)
    const frames = [[maskedMessage(parts, length, jsMask)], maskedFrame(parts, length)]
    const { messages, binary, errors } = receive(frames)
    expect(errors).toEqual([])
    expect(messages).toHaveLength(2)
    for (const message of messages) expect(message.equals(joined)).toBe(true)
    expect(binary).toEqual([true, true])
  })

  it('is masked (the mask bit set, a key in the header) and each message gets a new key; the parts are not changed', () => {
    const parts = [bytes(30, 7), bytes(10_000, 8)]
    const copies = parts.map((p) => Buffer.from(p))
    const a = maskedMessage(parts, 10_030, jsMask)
    const b = maskedMessage(parts, 10_030, jsMask)
    expect(a[0]).toBe(0x82)
    expect(a[1]! & 0x80).toBe(0x80)
    expect(a.readUInt16BE(2)).toBe(10_030)
    expect(a.subarray(4, 8).equals(b.subarray(4, 8))).toBe(false)
    expect(a.subarray(8).equals(Buffer.concat(parts))).toBe(false)
    parts.forEach((p, i) => expect(p.equals(copies[i]!)).toBe(true))
  })
})
