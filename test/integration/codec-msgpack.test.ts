/**
 * The msgpack codec end to end over a real WebSocket: binary stays binary both ways (any typed
 * array arrives as its exact bytes), the bytes on the wire are the documented plain-MessagePack
 * array, and a value that cannot be encoded fails the send with E_CODEC without harming the session.
 */
import { describe, expect, it } from 'vitest'
import { rawClient, rejection, startClient, startServer, type WireFrame } from '../helpers/wire.js'

describe('codec-msgpack over a real socket', () => {
  it('binary payloads round-trip as bytes, client → server → client, nested and large', async () => {
    const { server, probe: serverProbe } = await startServer()
    const { client, probe } = await startClient(server.url!)
    const large = new Uint8Array(512 * 1024).map((_, i) => (i * 31) % 256)
    const floats = new Float32Array([0.5, -1, 3.25])
    const payload = { large, floats, list: [Buffer.from('héllo'), new Uint8Array([0, 255])], text: 'plain', n: 42 }
    const pong = await probe.ping(client.session!, payload)

    const atServer = serverProbe.pings.at(-1)!.payload as typeof payload
    const back = pong.payload as { large: Uint8Array; floats: Uint8Array; list: Uint8Array[]; text: string; n: number }
    for (const seen of [atServer, back] as Array<{ large: Uint8Array; floats: Uint8Array; list: Uint8Array[] }>) {
      expect(seen.large).toBeInstanceOf(Uint8Array)
      expect(Buffer.from(seen.large).equals(Buffer.from(large))).toBe(true)
      expect(seen.floats).toBeInstanceOf(Uint8Array)
      expect([...new Float32Array(new Uint8Array(seen.floats).buffer)]).toEqual([0.5, -1, 3.25])
      expect(Buffer.from(seen.list[0]!).toString()).toBe('héllo')
      expect([...seen.list[1]!]).toEqual([0, 255])
    }
    expect(back.text).toBe('plain')
    expect(back.n).toBe(42)
  })

  it('puts the documented bytes on the wire: [kind, id, name, payload, meta] with bin for binary', async () => {
    const { server } = await startServer()
    const raw = await rawClient(server.url!)
    // The welcome: kind, nil id, nil name, payload map.
    const welcome = await raw.hello()
    expect(welcome.slice(0, 3)).toEqual(['welcome', null, null])
    expect(welcome).toHaveLength(4)
    const from = raw.messages.length
    raw.send(['probe.ping', 3, null, new Uint8Array([1, 2, 3])])
    const pong = await raw.frame('probe.pong', from)
    // The raw client decoded plain MessagePack: an array whose payload is a bin (a Buffer).
    expect(pong).toEqual(['probe.pong', 3, null, Buffer.from([1, 2, 3])] satisfies WireFrame)
  })

  it('a value that cannot be encoded fails send() with E_CODEC naming the frame; the session stays usable', async () => {
    const { server } = await startServer()
    const { client, probe } = await startClient(server.url!)
    let thrown: unknown
    try {
      client.session!.send({ kind: 'probe.ping', id: 999, payload: { bad: Symbol('nope') } })
    } catch (error) {
      thrown = error
    }
    const error = await rejection(Promise.reject(thrown))
    expect(error.code).toBe('E_CODEC')
    expect(error.message).toMatch(/'probe.ping'/)
    expect(error.message).toMatch(/plain data/)
    expect((await probe.ping(client.session!, 'after')).payload).toBe('after')
    expect(server.sessions()).toHaveLength(1)
  })
})
