/**
 * @echostream/plugin-events over real WebSockets on 127.0.0.1, port 0.
 *
 * "Nothing else arrives" is shown with a barrier, not a sleep: a session's frames arrive in the
 * order they were sent, so once a later `sync` event has reached a client, anything sent to it
 * earlier has arrived too. Where a test also waits a little, that is only a second look.
 */
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { pack, unpack } from 'msgpackr'
import { defineEvent, definePlugin, EchoError, type EchoKernel, type Logger, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import events from '@echostream/plugin-events'
import { onCleanup, sleep, track, until } from '../helpers/fixtures.js'

const plugins = [transportWs, codecMsgpack, events]

function recordingLogger(): Logger & { errors: string[]; warnings: string[] } {
  const errors: string[] = []
  const warnings: string[] = []
  return { errors, warnings, info() {}, warn: (m) => void warnings.push(m), error: (m) => void errors.push(m) }
}

async function startServer(logger?: Logger): Promise<EchoKernel> {
  const server = track(await createServer({ plugins }, { logger }))
  await server.start()
  return server
}

async function connect(server: EchoKernel): Promise<EchoKernel> {
  const client = track(await createClient({ url: server.url, plugins }))
  await client.start()
  return client
}

/** The server's session for a client. */
function sessionOf(server: EchoKernel, client: EchoKernel): Session {
  const session = server.getSession(client.session!.id)
  if (!session) throw new Error(`no server session for client ${client.session!.id}`)
  return session
}

/** Counts `name` events per client. */
function countOn(clients: EchoKernel[], name: string): number[] {
  const counts = clients.map(() => 0)
  clients.forEach((client, i) => client.events.on(name, () => void counts[i]!++))
  return counts
}

let syncRound = 0
/** Sends a `sync` event to each client and waits until every one has it (see the file comment). */
async function barrier(server: EchoKernel, clients: EchoKernel[]): Promise<void> {
  const round = ++syncRound
  const seen = clients.map(() => false)
  const offs = clients.map((client, i) => client.events.on('sync', (n: number) => void (n === round && (seen[i] = true))))
  try {
    for (const client of clients) sessionOf(server, client).emit('sync', round)
    await until(() => seen.every(Boolean), 5000, `sync round ${round}`)
  } finally {
    offs.forEach((off) => off())
  }
}

describe('events: broadcast', () => {
  it('reaches each of 50 connected clients exactly once', async () => {
    const server = await startServer()
    const clients = await Promise.all(Array.from({ length: 50 }, () => connect(server)))
    expect(server.sessions()).toHaveLength(50)
    const counts = countOn(clients, 'tick')
    const payloads: unknown[] = []
    clients[0]!.events.on('tick', (data) => void payloads.push(data))

    expect(server.events.broadcast('tick', { n: 1, bytes: new Uint8Array([1, 2]) })).toMatchObject({ sent: 50 })

    await until(() => counts.every((c) => c >= 1), 10_000, 'every client to get the broadcast')
    await barrier(server, clients)
    await sleep(150)
    expect(counts).toEqual(Array(50).fill(1))
    expect(payloads).toHaveLength(1)
    expect((payloads[0] as { n: number }).n).toBe(1)
    expect(Buffer.from((payloads[0] as { bytes: Uint8Array }).bytes)).toEqual(Buffer.from([1, 2]))
  })

  it('skips the session given as except', async () => {
    const server = await startServer()
    const clients = await Promise.all([connect(server), connect(server), connect(server)])
    const counts = countOn(clients, 'news')
    expect(server.events.broadcast('news', 'hi', { except: sessionOf(server, clients[1]!) })).toMatchObject({ sent: 2 })
    await barrier(server, clients)
    expect(counts).toEqual([1, 0, 1])
  })
})

describe('events: rooms', () => {
  it('a room emit reaches only its members; a member of two targeted rooms gets it once', async () => {
    const server = await startServer()
    const [a, b, c, d] = await Promise.all([connect(server), connect(server), connect(server), connect(server)])
    const clients = [a!, b!, c!, d!]
    sessionOf(server, a!).join('red')
    sessionOf(server, b!).join('blue')
    sessionOf(server, c!).join('red')
    sessionOf(server, c!).join('blue')
    sessionOf(server, c!).join('red') // joining twice changes nothing

    expect(server.events.rooms().sort()).toEqual(['blue', 'red'])
    expect(server.events.in('red').map((s) => s.id).sort()).toEqual([a!.session!.id, c!.session!.id].sort())
    expect(sessionOf(server, c!).rooms().sort()).toEqual(['blue', 'red'])

    const red = countOn(clients, 'paint.red')
    expect(server.events.to('red').emit('paint.red', 1)).toMatchObject({ sent: 2 })
    const both = countOn(clients, 'paint.both')
    expect(server.events.to(['red', 'blue']).emit('paint.both', 2)).toMatchObject({ sent: 3 })
    const none = countOn(clients, 'paint.none')
    expect(server.events.to('nobody-here').emit('paint.none', 3)).toMatchObject({ sent: 0 })

    await barrier(server, clients)
    await sleep(100)
    expect(red).toEqual([1, 0, 1, 0])
    expect(both).toEqual([1, 1, 1, 0])
    expect(none).toEqual([0, 0, 0, 0])
  })

  it('leave and disconnect remove membership; empty rooms are deleted', async () => {
    const server = await startServer()
    const [a, b, c] = await Promise.all([connect(server), connect(server), connect(server)])
    const [sa, sb, sc] = [sessionOf(server, a!), sessionOf(server, b!), sessionOf(server, c!)]
    for (const s of [sa, sb, sc]) s.join('lobby')
    sc.join('side')
    expect(server.events.in('lobby')).toHaveLength(3)

    // leave
    sb.leave('lobby')
    expect(sb.rooms()).toEqual([])
    expect(server.events.in('lobby')).not.toContain(sb)

    // disconnect: the client goes away, the server notices and drops it from every room
    await c!.stop()
    await until(() => sc.state === 'closed', 5000, 'the server to see the client go')
    expect(sc.rooms()).toEqual([]) // removed by the disconnect tap (read before in(), which also prunes)
    expect(server.events.in('lobby')).toEqual([sa])
    expect(server.events.rooms()).not.toContain('side') // its only member left: deleted

    const counts = countOn([a!, b!], 'hello.lobby')
    expect(server.events.to('lobby').emit('hello.lobby', 'still here?')).toMatchObject({ sent: 1 })
    await barrier(server, [a!, b!])
    expect(counts).toEqual([1, 0])

    sa.leave('lobby')
    expect(server.events.rooms()).toEqual([])
    expect(server.events.in('lobby')).toEqual([])
  })
})

describe('events: subscriptions', () => {
  it('the returned unsubscribe and off() stop delivery; once fires once', async () => {
    const server = await startServer()
    const client = await connect(server)
    const session = sessionOf(server, client)
    const got = { unsub: 0, off: 0, once: 0, control: 0 }
    const unsubscribe = client.events.on('n', () => void got.unsub++)
    const offHandler = () => void got.off++
    client.events.on('n', offHandler)
    client.events.once('n', () => void got.once++)
    client.events.on('n', () => void got.control++)
    expect(client.events.listenerCount('n')).toBe(4)

    session.emit('n', 1)
    await until(() => got.control === 1)
    expect(got).toEqual({ unsub: 1, off: 1, once: 1, control: 1 })
    expect(client.events.listenerCount('n')).toBe(3) // once removed itself

    unsubscribe()
    unsubscribe() // a second call is harmless
    expect(client.events.off('n', offHandler)).toBe(1)
    session.emit('n', 2)
    session.emit('n', 3)
    await until(() => got.control === 3)
    await barrier(server, [client])
    expect(got).toEqual({ unsub: 1, off: 1, once: 1, control: 3 })

    expect(client.events.off('n')).toBe(1) // all remaining handlers of 'n'
    expect(client.events.listenerCount('n')).toBe(0)
    session.emit('n', 4)
    await barrier(server, [client])
    expect(got.control).toBe(3)
  })

  it('unsubscribing on the server side stops delivery of client events', async () => {
    const server = await startServer()
    const client = await connect(server)
    const got: unknown[] = []
    const off = server.events.on('ping', (data) => void got.push(data))
    client.events.emit('ping', 1)
    await until(() => got.length === 1)
    off()
    const seen: unknown[] = []
    server.events.on('after', (data) => void seen.push(data))
    client.events.emit('ping', 2)
    client.events.emit('after', 'marker')
    await until(() => seen.length === 1) // 'after' was sent later on the same connection
    expect(got).toEqual([1])
  })
})

describe('events: both directions', () => {
  it('client → server with the session; server → one client with session.emit', async () => {
    const server = await startServer()
    const [alice, bob] = await Promise.all([connect(server), connect(server)])
    const received: Array<{ data: unknown; session: Session }> = []
    server.events.on('chat', (data, session) => {
      received.push({ data, session })
      session.emit('chat.ack', { echoed: data })
    })
    const aliceGot: unknown[] = []
    const aliceSessions: Session[] = []
    alice!.events.on('chat.ack', (data, session) => {
      aliceGot.push(data)
      aliceSessions.push(session)
    })
    const bobGot = countOn([bob!], 'chat.ack')

    alice!.events.emit('chat', { text: 'hi' })
    await until(() => aliceGot.length === 1)
    expect(received).toHaveLength(1)
    expect(received[0]!.data).toEqual({ text: 'hi' })
    expect(received[0]!.session.id).toBe(alice!.session!.id)
    expect(received[0]!.session).toBe(sessionOf(server, alice!))
    expect(aliceGot).toEqual([{ echoed: { text: 'hi' } }])
    expect(aliceSessions[0]).toBe(alice!.session)
    await barrier(server, [alice!, bob!])
    expect(bobGot).toEqual([0]) // the reply went to alice only

    // and from the other client: the handler gets bob's session, and only bob hears back
    bob!.events.emit('chat', { text: 'yo' })
    await until(() => bobGot[0] === 1)
    expect(received[1]!.session).toBe(sessionOf(server, bob!))
    await barrier(server, [alice!, bob!])
    expect(aliceGot).toHaveLength(1)
  })

  it('emit without a connection or on the wrong side fails clearly', async () => {
    const server = await startServer()
    const notStarted = track(await createClient({ url: server.url, plugins }))
    expect(() => notStarted.events.emit('x', 1)).toThrow(expect.objectContaining({ code: 'E_CLOSED', message: expect.stringMatching(/not connected/) }))

    const client = await connect(server)
    expect(() => server.events.emit('x', 1)).toThrow(expect.objectContaining({ code: 'E_STATE' }))
    expect(() => client.events.broadcast('x', 1)).toThrow(expect.objectContaining({ code: 'E_STATE' }))
    expect(() => client.session!.join('room')).toThrow(expect.objectContaining({ code: 'E_STATE' }))
    expect(() => client.events.on('', () => {})).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }))
    expect(() => server.events.broadcast('x', Symbol('not encodable'))).toThrow(expect.objectContaining({ code: 'E_CODEC' }))

    // the server drops the connection: the client kernel still runs, but its session is closed
    sessionOf(server, client).close('bye')
    await until(() => client.session!.state === 'closed')
    let error: unknown
    try {
      client.events.emit('x', 1)
    } catch (e) {
      error = e
    }
    expect(EchoError.is(error) && error.code).toBe('E_CLOSED')
    expect((error as Error).message).toMatch(/not connected \(session closed\)/)
  })
})

describe('events: failures stay contained', () => {
  it('a throwing or rejecting handler stops neither the other handlers nor the server', async () => {
    const logger = recordingLogger()
    const server = await startServer(logger)
    const [client, other] = await Promise.all([connect(server), connect(server)])
    const seen: unknown[] = []
    server.events.on('boom', () => {
      throw new Error('sync failure')
    })
    server.events.on('boom', async () => {
      await sleep(1)
      throw new Error('async failure')
    })
    server.events.on('boom', (data) => void seen.push(data))

    client.events.emit('boom', 1)
    client.events.emit('boom', 2)
    await until(() => seen.length === 2 && logger.errors.length === 4, 5000, 'both events handled and four failures logged')
    expect(seen).toEqual([1, 2])
    expect(logger.errors.filter((m) => m.includes("'boom'") && m.includes('Error: sync failure'))).toHaveLength(2)
    expect(logger.errors.filter((m) => m.includes("'boom'") && m.includes('Error: async failure'))).toHaveLength(2)

    // the emitting session is still open and the server still serves everyone
    expect(client.session!.state).toBe('open')
    const fine: unknown[] = []
    server.events.on('fine', (d) => void fine.push(d))
    client.events.emit('fine', 'a')
    other!.events.emit('fine', 'b')
    await until(() => fine.length === 2)
    expect(fine.sort()).toEqual(['a', 'b'])
  })

  it('a malformed events.emit frame from a raw socket gets an error frame; the server keeps serving', async () => {
    const server = await startServer()
    const good = await connect(server)
    const received: unknown[] = []
    server.events.on('raw.ok', (data) => void received.push(data))
    server.events.on('good', (data) => void received.push(data))

    const raw = new WebSocket(server.url!)
    onCleanup(() => raw.terminate())
    const inbox: unknown[][] = []
    raw.on('message', (bytes: Buffer) => void inbox.push(unpack(bytes) as unknown[]))
    let closed = false
    raw.on('close', () => void (closed = true))
    await new Promise<void>((resolve, reject) => {
      raw.once('open', () => resolve())
      raw.once('error', reject)
    })
    const next = async (): Promise<unknown[]> => {
      await until(() => inbox.length > 0, 5000, 'a frame from the server')
      return inbox.shift()!
    }

    raw.send(pack(['hello', null, null, { protocol: 2, limits: { maxPayload: 1048576 }, codec: 'msgpack', plugins: { events: 1 } }]))
    const welcome = await next()
    expect(welcome[0]).toBe('welcome')

    // no name at all: reaches the events route, which refuses it
    raw.send(pack(['events.emit']))
    const noName = await next()
    expect(noName[0]).toBe('error')
    expect(noName[3]).toMatchObject({ code: 'E_PROTOCOL', re: 'events.emit', message: expect.stringMatching(/event name/) })

    // an empty name: the same
    raw.send(pack(['events.emit', null, '', 'x']))
    expect((await next())[3]).toMatchObject({ code: 'E_PROTOCOL', re: 'events.emit' })

    // a name that is not a string: the codec already refuses the frame's shape
    raw.send(pack(['events.emit', null, 42, 'x']))
    const numberName = await next()
    expect(numberName[0]).toBe('error')
    expect(numberName[3]).toMatchObject({ code: 'E_PROTOCOL' })

    // the raw session is still usable, and the well-behaved client unaffected
    raw.send(pack(['events.emit', null, 'raw.ok', { fine: true }]))
    good.events.emit('good', 'yes')
    await until(() => received.length === 2)
    expect(received).toContainEqual({ fine: true })
    expect(received).toContainEqual('yes')
    expect(closed).toBe(false)
    expect(server.sessions()).toHaveLength(2)

    const counts = countOn([good], 'after.raw')
    expect(server.events.broadcast('after.raw', 1)).toMatchObject({ sent: 2 })
    await until(() => counts[0] === 1)
    await until(() => inbox.some((f) => f[0] === 'events.emit' && f[2] === 'after.raw'), 5000, 'the raw socket to get the broadcast')
  })
})

describe('events: handler modules', () => {
  it('defineEvent definitions in a config register handlers', async () => {
    const got: Array<[unknown, string]> = []
    const server = track(
      await createServer({ plugins, handlers: [defineEvent<{ n: number }>('defined', (data, session) => void got.push([data.n, session.id]))] }),
    )
    await server.start()
    const client = await connect(server)
    client.events.emit('defined', { n: 7 })
    await until(() => got.length === 1)
    expect(got).toEqual([[7, client.session!.id]])
  })
})

describe('events: authorisation', () => {
  it('the kernel authorize hook can refuse inbound events and room joins', async () => {
    const gate = definePlugin({
      name: 'gate',
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        kernel.hooks.authorize.tap('gate', (action) =>
          action.name.startsWith('secret') ? new EchoError('E_UNAUTHORIZED', `no ${action.kind} '${action.name}' for you`) : undefined,
        )
      },
    })
    const server = track(await createServer({ plugins: [...plugins, gate] }))
    await server.start()
    const clientLog = recordingLogger()
    const client = track(await createClient({ url: server.url, plugins }, { logger: clientLog }))
    await client.start()

    const got: string[] = []
    server.events.on('secret.plans', () => void got.push('secret'))
    server.events.on('public', () => void got.push('public'))
    client.events.emit('secret.plans', 1)
    client.events.emit('public', 2)
    await until(() => got.length === 1 && clientLog.warnings.length === 1, 5000, 'the public event and the refusal')
    expect(got).toEqual(['public'])
    expect(clientLog.warnings[0]).toMatch(/E_UNAUTHORIZED: no event 'secret.plans' for you/)
    expect(client.session!.state).toBe('open')

    const session = sessionOf(server, client)
    expect(() => session.join('secret-room')).toThrow(expect.objectContaining({ code: 'E_UNAUTHORIZED' }))
    expect(session.rooms()).toEqual([])
    session.join('lobby')
    expect(session.rooms()).toEqual(['lobby'])
  })
})
