/**
 * Streams with @echostream/plugin-reconnect: a cut connection suspends the session; a stream then
 * pauses and carries on after a recovered resume (exact bytes, seq unbroken), and fails with
 * E_CLOSED when the session is not recovered, after which new streams work on the new session.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { EchoError, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import reconnect from '@echostream/plugin-reconnect'
import streams, { type StreamReader } from '@echostream/plugin-streams'
import { sleep, track, until } from '../helpers/fixtures.js'

const KiB = 1024
const MiB = 1024 * KiB
/** Reconnect quickly; keep enough unacknowledged frames for an exact replay of a bulk stream. */
const clientReconnect = { initialDelayMs: 50, maxDelayMs: 200, ackIntervalMs: 20, maxQueuedBytes: 32 * MiB, maxQueuedFrames: 100_000 }

/** Cuts the client's socket without a close handshake, as a network failure would. */
function cut(session: Session): void {
  ;(session as unknown as { connection: { socket: { terminate(): void } } }).connection.socket.terminate()
}

describe('streams across a reconnect', () => {
  it('a recovered resume continues the stream: every byte once, in order', async () => {
    const TOTAL = 8 * MiB
    const CHUNK = 16 * KiB
    const received = { bytes: 0, seqs: [] as number[], hash: createHash('sha256'), error: undefined as EchoError | undefined }
    let done!: () => void
    const finished = new Promise<void>((resolve) => (done = resolve))
    const server = track(
      await createServer({
        plugins: [transportWs, codecMsgpack, streams, [reconnect, { graceMs: 10_000, maxQueuedBytes: 32 * MiB, maxQueuedFrames: 100_000 }]],
        options: { 'transport-ws': { host: '127.0.0.1', port: 0 } },
      }),
    )
    server.streams.handle('bulk', async (stream: StreamReader<Buffer>) => {
      try {
        for await (const frame of stream) {
          received.seqs.push(frame.seq)
          received.hash.update(frame.data)
          received.bytes += frame.data.length
        }
      } catch (error) {
        received.error = error as EchoError
      }
      done()
    })
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, streams, [reconnect, clientReconnect]] }))
    const reconnected: Array<{ recovered?: boolean }> = []
    client.reconnect.on('reconnected', (event) => void reconnected.push(event as { recovered?: boolean }))
    await client.start()

    const writer = await client.streams.open<Buffer>('bulk')
    const sent = createHash('sha256')
    const chunks = TOTAL / CHUNK
    let cuts = 0
    for (let i = 0; i < chunks; i++) {
      const chunk = Buffer.alloc(CHUNK, i % 251)
      chunk.writeUInt32BE(i, 0)
      sent.update(chunk)
      if (i === chunks / 2) {
        // Second cut with the stream idle: every byte read, credit to spare. The writes below
        // queue while suspended, and only the resume can set them going again.
        await until(() => received.bytes === i * CHUNK && reconnected.length === 1, 10_000, 'the first half and the first resume')
        cut(client.session!)
        cuts++
        await until(() => client.session!.state === 'suspended', 5000, 'the client to notice the cut')
      }
      await writer.write(chunk)
      if (cuts === 0 && received.bytes > TOTAL / 8) {
        // First cut with data in flight: reconnect replays it exactly once.
        cut(client.session!)
        cuts++
      }
    }
    await writer.end()
    await finished
    expect(cuts).toBe(2)
    expect(reconnected).toEqual([expect.objectContaining({ recovered: true }), expect.objectContaining({ recovered: true })])
    expect(received.error).toBeUndefined()
    expect(received.bytes).toBe(TOTAL)
    expect(received.hash.digest('hex')).toBe(sent.digest('hex'))
    expect(received.seqs).toEqual(Array.from({ length: TOTAL / CHUNK }, (_, i) => i))
  })

  it('a session that is not recovered fails its streams with E_CLOSED; new streams work on the new session', async () => {
    const errors: EchoError[] = []
    const got: string[] = []
    const server = track(
      await createServer({
        plugins: [transportWs, codecMsgpack, streams, [reconnect, { graceMs: 50 }]],
        options: { 'transport-ws': { host: '127.0.0.1', port: 0 } },
      }),
    )
    server.streams.handle('text', async (stream) => {
      try {
        for await (const frame of stream) got.push(frame.data as string)
      } catch (error) {
        errors.push(error as EchoError)
      }
    })
    await server.start()
    const client = track(
      await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, streams, [reconnect, { ...clientReconnect, initialDelayMs: 400, maxDelayMs: 400, jitter: 0 }]] }),
    )
    const reconnected: Array<{ recovered?: boolean }> = []
    client.reconnect.on('reconnected', (event) => void reconnected.push(event as { recovered?: boolean }))
    await client.start()

    const first = await client.streams.open<string>('text')
    await first.write('before')
    await until(() => got.length === 1)
    cut(client.session!)
    await until(() => errors.length === 1, 5000, 'the server to give the session up')
    expect(errors[0]!.code).toBe('E_CLOSED')
    // While suspended, a write waits; it fails once the client learns the session is gone.
    const pending = first.write('lost').then(() => undefined, (error: EchoError) => error)
    expect(await client.streams.open('text').catch((error: EchoError) => error.code)).toBe('E_CLOSED')
    await until(() => reconnected.length === 1, 10_000, 'reconnected')
    expect(reconnected[0]).toMatchObject({ recovered: false })
    expect((await pending)?.code).toBe('E_CLOSED')

    const second = await client.streams.open<string>('text')
    await second.write('after')
    await second.end()
    await until(() => got.length === 2)
    await sleep(50)
    expect(got).toEqual(['before', 'after'])
  })
})
