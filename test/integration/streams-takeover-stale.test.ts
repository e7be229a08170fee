/**
 * Stream frames of the old server arriving after a cluster takeover. When a session resumes on
 * another node, both sides replay what the other missed: the new node replays, from the cluster's
 * log, the frames the dead node sent (stream data, credit…), and the client replays the frames the
 * dead node never read (its credit grants…). Those frames belong to streams of the old node; the
 * new node's streams start over (ids from 2 again, credit from 0), so a stale frame must never be
 * taken for one of the new streams. Made deterministic by pausing the sockets: the old node stops
 * reading (the client's last grants stay unread) and then the client stops reading (the node's
 * last data stays unread), so both directions have stale frames in flight at the cut.
 *
 * The first failure this reproduces is the chat example's stalled download: the client answered
 * the replayed data of the old stream 2 with protocol errors about stream 2, which failed the new
 * node's own stream 2 (the download it had just opened) with E_PROTOCOL.
 */
import { describe, expect, it } from 'vitest'
import type { Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import presetCluster from '@echostream/preset-cluster'
import streams, { type StreamReader, type StreamWriter } from '@echostream/plugin-streams'
import { startRedis } from '../helpers/redis.js'
import { track, until } from '../helpers/fixtures.js'

type Socketed = { connection: { socket: { terminate(): void; _socket: { pause(): void } } } }
/** Cuts the client's socket without a close handshake, as a network failure would. */
const cut = (session: Session) => (session as unknown as Socketed).connection.socket.terminate()
/** Stops reading this side's socket: what the peer sends from now on stays unread. */
const pause = (session: Session) => (session as unknown as Socketed).connection.socket._socket.pause()

/** Windows without tuning: a stream may have 128 KiB in flight, a grant follows each 32 KiB read (64 KiB for the connection). */
const STREAM_WINDOW = 128 * 1024
const CHUNK = new Uint8Array(8 * 1024).fill(7)


const OPTIONS = { streamWindow: STREAM_WINDOW, maxStreamWindow: STREAM_WINDOW, connectionWindow: 2 * STREAM_WINDOW, maxConnectionWindow: 2 * STREAM_WINDOW }

/** Nodes a and b, a client on a that reads 'dl' streams (bytes per meta.name) and uploads to 'up' handlers. */
async function setup() {
  const redis = await startRedis()
  const [a, b] = await Promise.all([node(redis.url, 'a'), node(redis.url, 'b')])
  await Promise.all([a.start(), b.start()])
  const client = track(
    await createClient({
      preset: presetCluster,
      plugins: [streams],
      options: { cluster: { urls: [a.url!, b.url!] }, reconnect: { initialDelayMs: 50, maxDelayMs: 100 }, streams: OPTIONS },
    }),
  )
  const received = new Map<string, number>()
  const failures: string[] = []
  client.streams.handle('dl', async (stream: StreamReader<Uint8Array>, ctx) => {
    const name = (ctx.meta as { name: string }).name
    try {
      for await (const frame of stream) received.set(name, (received.get(name) ?? 0) + frame.data.byteLength)
    } catch (error) {
      failures.push(`${name}: ${(error as { code?: string }).code}`)
    }
  })
  const uploaded = new Map<string, number>()
  for (const server of [a, b]) {
    server.streams.handle('up', async (stream: StreamReader<Uint8Array>, ctx) => {
      const name = (ctx.meta as { name: string }).name
      try {
        for await (const frame of stream) uploaded.set(name, (uploaded.get(name) ?? 0) + frame.data.byteLength)
      } catch {
        // the old node's stream, cut
      }
    })
  }
  const protocolErrors: string[] = []
  client.hooks.protocolError.tap('test', (error) => void protocolErrors.push(`${error.code}: ${error.message}`))
  await client.start()
  const onA = a.getSession(client.session!.id)!
  const recoveries: Array<Record<string, unknown>> = []
  client.cluster.on('recovery', (e) => void recoveries.push(e))
  /** Cuts the client's link: it resumes on node b, which takes the session over. */
  const takeover = async () => {
    cut(client.session!)
    await until(() => recoveries.length === 1, 10_000, 'the resume on node b')
    expect(recoveries[0]).toMatchObject({ recovered: true, node: 'b', moved: true })
    return b.getSession(client.session!.id)!
  }
  return { a, b, client, onA, received, uploaded, failures, protocolErrors, takeover }
}

async function node(redisUrl: string, id: string) {
  return track(
    await createServer({
      preset: presetCluster,
      plugins: [streams],
      options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, cluster: { redisUrl, nodeId: id, heartbeatMs: 200, nodeTtlMs: 1000 }, streams: OPTIONS },
    }),
  )
}

describe('streams: stale frames after a cluster takeover', () => {
  it("node b's first stream to the client works: the old node's data and the client's grants to it are not taken for it", { timeout: 30_000 }, async () => {
    const { b, client, onA, received, failures, protocolErrors, takeover } = await setup()
    // The old node's stream: data flows, grants come back.
    const old = await onA.openStream<Uint8Array>('dl', { name: 'old' })
    for (let i = 0; i < 64; i++) await old.write(CHUNK)
    await until(() => received.get('old') === 64 * CHUNK.byteLength, 5000, 'the first 512 KiB read')

    // Node a stops reading: the client's next grants (stream and connection) stay unread there.
    // (Node a still has at least 96 KiB of credit: 72 KiB now, 16 KiB below.)
    pause(onA)
    const grantedBefore = client.streams.stats().receive.maxOffset
    for (let i = 0; i < 9; i++) await old.write(CHUNK)
    await until(() => received.get('old') === 73 * CHUNK.byteLength, 5000, 'the next 72 KiB read')
    expect(client.streams.stats().receive.maxOffset).toBeGreaterThan(grantedBefore)
    // The client stops reading: node a's next data stays unread (it is in the cluster's log).
    pause(client.session!)
    for (let i = 0; i < 2; i++) await old.write(CHUNK)

    // Node b opens a stream to the client as soon as it took the session over (its id is 2, as the old one's).
    let fresh: Promise<StreamWriter<Uint8Array>> | undefined
    b.hooks.welcome.tap('test', (welcome, session) => {
      setImmediate(() => {
        fresh = session.openStream<Uint8Array>('dl', { name: 'new' })
        fresh.catch(() => {})
      })
      return welcome
    })
    const onB = await takeover()
    await until(() => fresh !== undefined, 5000, 'the open on node b')
    const writer = await fresh!
    expect(failures).toEqual(['old: E_CLOSED'])
    // Node b's limits are the client's grants to node b, not those it sent node a.
    const sendLimit = () => b.streams.stats(onB).send.maxOffset
    expect(sendLimit()).toBeLessThanOrEqual(client.streams.stats().receive.maxOffset)
    expect(writer.stats().maxOffset).toBeLessThanOrEqual(STREAM_WINDOW)
    for (let i = 0; i < 128; i++) await writer.write(CHUNK)
    await writer.end()
    await until(() => received.get('new') === 128 * CHUNK.byteLength, 5000, 'the new stream read')
    expect(sendLimit()).toBeLessThanOrEqual(client.streams.stats().receive.maxOffset)
    expect(failures).toEqual(['old: E_CLOSED'])
    expect(protocolErrors).toEqual([])
  })

  it("the client's first stream to node b works: node a's grants are not taken for node b's", { timeout: 30_000 }, async () => {
    const { a, b, client, onA, uploaded, protocolErrors, takeover } = await setup()
    const aGranted = () => a.streams.stats(onA).receive.maxOffset
    const old = await client.streams.open<Uint8Array>('up', { name: 'old' })
    for (let i = 0; i < 64; i++) await old.write(CHUNK)
    await until(() => uploaded.get('old') === 64 * CHUNK.byteLength, 5000, 'the first 512 KiB read')
    // The client stops reading: node a's next grants stay unread (they are in the cluster's log).
    pause(client.session!)
    const grantedBefore = aGranted()
    for (let i = 0; i < 9; i++) await old.write(CHUNK)
    await until(() => uploaded.get('old') === 73 * CHUNK.byteLength, 5000, 'the next 72 KiB read')
    expect(aGranted()).toBeGreaterThan(grantedBefore)

    const onB = await takeover()
    expect(old.state).toBe('aborted')
    const up = await client.streams.open<Uint8Array>('up', { name: 'new' })
    // The client's limits are node b's grants, not node a's.
    const sendLimit = () => client.streams.stats().send.maxOffset
    expect(sendLimit()).toBeLessThanOrEqual(b.streams.stats(onB).receive.maxOffset)
    expect(up.stats().maxOffset).toBeLessThanOrEqual(STREAM_WINDOW)
    for (let i = 0; i < 128; i++) await up.write(CHUNK)
    await up.end()
    await until(() => uploaded.get('new') === 128 * CHUNK.byteLength, 5000, 'the new upload read')
    expect(sendLimit()).toBeLessThanOrEqual(b.streams.stats(onB).receive.maxOffset)
    expect(protocolErrors).toEqual([])
  })
})
