/**
 * The msgpack codec end to end over a real WebSocket: binary stays binary both ways (any typed
 * array arrives as its exact bytes), the bytes on the wire are the documented plain-MessagePack
 * array, and a value that cannot be encoded fails the send with E_CODEC without harming the session.
 * Hostile frames (issue 10, items 1 and 2): a cyclic structured-clone frame, 24 bytes declaring a
 * 2^25-element array, and the stream variant get E_CODEC, and a good client is answered at once.
 */
import { describe, expect, it } from 'vitest'
import { Packr } from 'msgpackr'
import { createClient } from '../helpers/create.js'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import streams from '@echostream/plugin-streams'
import { track } from '../helpers/fixtures.js'
import { codecMsgpack, HELLO, rawClient, rejection, startClient, startServer, transportWs, type WireFrame } from '../helpers/wire.js'

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

describe('codec-msgpack: hostile frames cost nothing (issue 10, items 1 and 2)', () => {
  /** `a = [1, a]` as msgpackr's structured clone writes it: an id record (0x69) and a pointer (0x70). */
  function cyclicFrame(frame: unknown[]): Buffer {
    const a: unknown[] = [1]
    a.push(a)
    return new Packr({ structuredClone: true }).pack([...frame, a])
  }

  it('the cyclic frame, the 2^25-element array bomb and the stream variant get E_CODEC; a good call right after is answered as fast as before', async () => {
    const { server } = await startServer({ plugins: [rpc, events, streams] })
    server.rpc.handle('echo', (params: unknown) => params)
    // The listener that emits the data back (one of the hangs).
    server.events.on('echo', (data: unknown, session) => session.emit('echo', data))
    const client = track(await createClient({ url: server.url!, plugins: [transportWs, codecMsgpack, rpc, events, streams] }))
    await client.start()
    const call = async () => {
      const started = performance.now()
      expect(await client.rpc.request('echo', { n: 1 })).toEqual({ n: 1 })
      return performance.now() - started
    }
    const before: number[] = []
    for (let i = 0; i < 20; i++) before.push(await call())

    const raw = await rawClient(server.url!)
    const welcome = await raw.hello({ ...HELLO, plugins: server.wirePlugins() })
    expect(welcome[0]).toBe('welcome')
    const from = raw.messages.length
    // Item 1: ["rpc.req", 1, "echo", a] with a = [1, a]; the event listener variant.
    raw.send(cyclicFrame(['rpc.req', 1, 'echo']))
    raw.send(cyclicFrame(['events.emit', null, 'echo']))
    // The stream variant: an open nobody handles, then data carrying the cycle.
    raw.send(['stream.open', 1, 'nobody'])
    raw.send(cyclicFrame(['stream.data', 1, null, [0, 0]])) // the cycle as meta
    const streamData = new Packr({ structuredClone: true })
    const b: unknown[] = [1]
    b.push(b)
    raw.send(streamData.pack(['stream.data', 1, null, [0, 0, b]]))
    // Item 2: 24 bytes declaring a 2^25-element array, 100 times (2.4 KB in all).
    const bomb = Buffer.from('94a77270632e72657101a46563686fdd0200000000000000', 'hex')
    expect(bomb.byteLength).toBe(24)
    for (let i = 0; i < 100; i++) raw.send(bomb)

    const after = await call()
    const errors = () => raw.messages.slice(from).filter((m): m is WireFrame => Array.isArray(m) && m[0] === 'error')
    // 2 cyclic frames + the cyclic meta frame + the stream data + 100 bombs, each refused with E_CODEC.
    await expect.poll(() => errors().length, { timeout: 5000 }).toBe(104)
    expect(errors().every((e) => (e[3] as { code: string }).code === 'E_CODEC')).toBe(true)
    expect(raw.closeInfo).toBeUndefined()
    // The refused open answered as usual: the session is untouched.
    expect((await raw.frame('stream.abort', from))[3]).toMatchObject({ code: 'E_NO_HANDLER' })
    // Without the fix the cyclic frame never returns (the server hangs: this call times out) and
    // the bombs allocate 256 MiB each (seconds). Bounds are loose for a busy machine: the first
    // call within a second, and the next ones at their usual latency.
    expect(after).toBeLessThan(1000)
    const median = (list: number[]) => [...list].sort((x, y) => x - y)[Math.floor(list.length / 2)]!
    const next: number[] = []
    for (let i = 0; i < 9; i++) next.push(await call())
    expect(median(next)).toBeLessThan(Math.max(3 * median(before), 20))
  })

  it('a handler that returns a cyclic value: the caller gets an error, the server keeps answering', async () => {
    const { server } = await startServer({ plugins: [rpc] })
    server.rpc.handle('loop', () => {
      const a: unknown[] = [1]
      a.push(a)
      return a
    })
    server.rpc.handle('ok', () => 'ok')
    const client = track(await createClient({ url: server.url!, plugins: [transportWs, codecMsgpack, rpc] }))
    await client.start()
    const error = await rejection(client.rpc.request('loop'))
    expect(error.message).toMatch(/cycle/)
    expect(await client.rpc.request('ok')).toBe('ok')
  })
})
