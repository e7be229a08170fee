/**
 * The framing receiver, byte by byte (as ws's receiver tests feed hex): preamble, frames split at
 * every offset, many frames per chunk, the maxPayload bound from the header alone, control frames,
 * close frames, and hostile bytes → one framing error with its close code, never a throw.
 */
import { describe, expect, it } from 'vitest'
import type { EchoError } from '@echostream/kernel'
import { FrameReceiver, type FrameSink } from '../../src/receiver.js'
import { closeCodeOf } from '../../src/errors.js'

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex')
const PREAMBLE = '45 43 48 4f 54 43 50 01'

type Event = ['preamble'] | ['message', string] | ['ping', string] | ['pong', string] | ['close', number, string] | ['error', string, number, string]

function record(maxPayload = 1024, expectPreamble = true) {
  const events: Event[] = []
  const bodies: Buffer[] = []
  const sink: FrameSink = {
    onPreamble: () => void events.push(['preamble']),
    onFrameMessage: (body) => {
      bodies.push(body)
      events.push(['message', body.toString('hex')])
    },
    onPing: (body) => void events.push(['ping', body.toString('hex')]),
    onPong: (body) => void events.push(['pong', body.toString('hex')]),
    onCloseFrame: (code, reason) => void events.push(['close', code, reason]),
    onFramingError: (error: EchoError) => void events.push(['error', error.code, closeCodeOf(error), error.message]),
  }
  return { receiver: new FrameReceiver(sink, maxPayload, expectPreamble), events, bodies }
}

describe('FrameReceiver', () => {
  it('reads the preamble, then a message, a ping, a pong and a close frame from one chunk', () => {
    const { receiver, events } = record()
    receiver.push(hex(`${PREAMBLE} 01 00000003 616263  02 00000002 0102  03 00000000  04 00000005 03e8 627965`))
    expect(events).toEqual([['preamble'], ['message', '616263'], ['ping', '0102'], ['pong', ''], ['close', 1000, 'bye']])
  })

  it('trim() from inside a pong\'s dispatch, with bytes of the read still buffered or not, loses nothing: reading goes on', () => {
    const events: Event[] = []
    let receiver!: FrameReceiver
    const sink: FrameSink = {
      onPreamble: () => void events.push(['preamble']),
      onFrameMessage: (body) => void events.push(['message', body.toString('hex')]),
      onPing: (body) => void events.push(['ping', body.toString('hex')]),
      // As the connection does: a pong trims, here with the rest of the read still buffered or not.
      onPong: (body) => (events.push(['pong', body.toString('hex')]), receiver.trim()),
      onCloseFrame: (code, reason) => void events.push(['close', code, reason]),
      onFramingError: (error: EchoError) => void events.push(['error', error.code, closeCodeOf(error), error.message]),
    }
    receiver = new FrameReceiver(sink, 1024, true)
    // A pong with a message after it in the same chunk (not trimmed: bytes buffered), then a split message.
    receiver.push(hex(`${PREAMBLE} 03 00000000 01 00000003 616263 01 00000002`))
    receiver.push(hex('0102'))
    receiver.push(hex('03 00000000'))
    receiver.push(hex('01 00000001 ff'))
    expect(events).toEqual([['preamble'], ['pong', ''], ['message', '616263'], ['message', '0102'], ['pong', ''], ['message', 'ff']])
  })

  it('delivers the same frames whatever the chunking: split at every offset, and byte by byte', () => {
    const stream = hex(`${PREAMBLE} 01 00000000  01 00000004 deadbeef  02 00000001 ff  01 00000006 000102030405`)
    const expected = [['preamble'], ['message', ''], ['message', 'deadbeef'], ['ping', 'ff'], ['message', '000102030405']]
    for (let cut = 0; cut <= stream.length; cut++) {
      const { receiver, events } = record()
      receiver.push(stream.subarray(0, cut))
      receiver.push(stream.subarray(cut))
      expect(events, `cut at ${cut}`).toEqual(expected)
    }
    const { receiver, events } = record()
    for (const byte of stream) receiver.push(Buffer.of(byte))
    expect(events).toEqual(expected)
  })

  it('a message inside one chunk is a view of it (no copy); one split across chunks is copied once', () => {
    const { receiver, bodies } = record(1024, false)
    // Its own ArrayBuffer (not Node's shared pool), so "a view of it" is tested by identity.
    const chunk = Buffer.from(new Uint8Array(hex('01 00000003 0a0b0c  01 00000004 01020304')).buffer)
    receiver.push(chunk.subarray(0, 15)) // the whole first frame, the second's header and 2 bytes of its body
    expect(bodies[0]!.buffer).toBe(chunk.buffer)
    receiver.push(chunk.subarray(15))
    expect(bodies[1]!.toString('hex')).toBe('01020304')
    expect(bodies[1]!.buffer).not.toBe(chunk.buffer)
  })

  it('a message of exactly maxPayload passes', () => {
    const { receiver, events } = record(4, false)
    receiver.push(hex('01 00000004 01020304'))
    expect(events).toEqual([['message', '01020304']])
  })

  it('refuses a declared length above maxPayload from the header alone, with 1009, and reads nothing after it', () => {
    const { receiver, events } = record(4, false)
    // Only the 5 header bytes: a receiver that waited for (or allocated) the body would report nothing.
    receiver.push(hex('01 ffffffff'))
    expect(events).toHaveLength(1)
    const [kind, code, closeCode, message] = events[0] as ['error', string, number, string]
    expect([kind, code, closeCode]).toEqual(['error', 'E_PAYLOAD_TOO_LARGE', 1009])
    expect(message).toMatch(/4294967295 bytes is larger than maxPayload \(4\)/)
    expect(receiver.buffered).toBe(0)
    receiver.push(hex('01 00000001 00'))
    expect(events).toHaveLength(1)
  })

  it('refuses an unknown frame type and an oversize control frame with 1002', () => {
    for (const [bytes, pattern] of [
      ['00 00000000', /unknown frame type 0x00/],
      ['7f 00000001 00', /unknown frame type 0x7f/],
      ['02 0000007e', /control frame 0x02 of 126 bytes/],
      ['04 00001000', /control frame 0x04 of 4096 bytes/],
    ] as const) {
      const { receiver, events } = record(1 << 20, false)
      receiver.push(hex(bytes))
      expect(events).toHaveLength(1)
      expect(events[0]!.slice(0, 3)).toEqual(['error', 'E_PROTOCOL', 1002])
      expect((events[0] as string[])[3]).toMatch(pattern)
    }
  })

  it('refuses close frames without a valid code (1002) or with a reason that is not UTF-8 (1007)', () => {
    const cases: Array<[string, number, RegExp]> = [
      ['04 00000000', 1002, /without a code/],
      ['04 00000001 03', 1002, /without a code/],
      ['04 00000002 03ed', 1002, /invalid code 1005/],
      ['04 00000002 0000', 1002, /invalid code 0/],
      ['04 00000002 1388', 1002, /invalid code 5000/],
      ['04 00000004 03e8 c328', 1007, /not valid UTF-8/],
    ]
    for (const [bytes, closeCode, pattern] of cases) {
      const { receiver, events } = record(1024, false)
      receiver.push(hex(bytes))
      expect(events[0]!.slice(0, 3)).toEqual(['error', 'E_PROTOCOL', closeCode])
      expect((events[0] as string[])[3]).toMatch(pattern)
    }
    const { receiver, events } = record(1024, false)
    receiver.push(hex(`04 00000008 0fa0 ${Buffer.from('héllo').toString('hex')}`))
    expect(events).toEqual([['close', 4000, 'héllo']])
  })

  it('reads nothing after a close frame', () => {
    const { receiver, events } = record(1024, false)
    receiver.push(hex('04 00000002 03e9  01 00000001 00'))
    receiver.push(hex('01 00000001 00'))
    expect(events).toEqual([['close', 1001, '']])
  })

  it('refuses a foreign preamble (a TLS ClientHello, an HTTP request) and a foreign framing version', () => {
    const tls = record()
    tls.receiver.push(hex('16 03 01 02 00 01 00 01 fc 03 03'))
    expect(tls.events[0]!.slice(0, 3)).toEqual(['error', 'E_PROTOCOL', 1002])
    expect((tls.events[0] as string[])[3]).toMatch(/expected the preamble "ECHOTCP", got bytes 16 03 01 02 00 01 00 01.*TLS/)

    const http = record()
    http.receiver.push(Buffer.from('GET / HTTP/1.1\r\n'))
    expect(http.events[0]!.slice(0, 3)).toEqual(['error', 'E_PROTOCOL', 1002])

    const v2 = record()
    v2.receiver.push(hex('45 43 48 4f 54 43 50 02'))
    expect(v2.events[0]!.slice(0, 3)).toEqual(['error', 'E_INCOMPATIBLE', 1002])
    expect((v2.events[0] as string[])[3]).toMatch(/version 2 is not supported: this side speaks 1/)
  })

  it('waits for a whole header and a whole body before delivering, holding at most one frame', () => {
    const { receiver, events } = record(1 << 20, false)
    receiver.push(hex('01 00'))
    receiver.push(hex('01 00 00')) // length 65536
    expect(events).toEqual([])
    const body = Buffer.alloc(65536, 7)
    receiver.push(body.subarray(0, 40000))
    expect(events).toEqual([])
    expect(receiver.buffered).toBe(40000)
    receiver.push(Buffer.concat([body.subarray(40000), hex('03 00000000')]))
    expect(events).toHaveLength(2)
    expect(events[0]![0]).toBe('message')
    expect((events[0] as string[])[1]).toBe(body.toString('hex'))
    expect(events[1]).toEqual(['pong', ''])
    expect(receiver.buffered).toBe(0)
  })
})
