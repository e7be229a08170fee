/**
 * Streams and a resume on another server (cluster takeover): the new node has none of the
 * session's stream state, so the client's streams must fail at once with E_CLOSED (the welcome's
 * streams epoch changed) instead of waiting forever for credit; new streams then work on the new
 * node. A resume on the same server keeps streams going (streams-reconnect.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { EchoError, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import presetCluster from '@echostream/preset-cluster'
import streams, { type StreamReader } from '@echostream/plugin-streams'
import { startRedis } from '../helpers/redis.js'
import { track, until } from '../helpers/fixtures.js'

/** Cuts the client's socket without a close handshake, as a network failure would. */
function cut(session: Session): void {
  ;(session as unknown as { connection: { socket: { terminate(): void } } }).connection.socket.terminate()
}

async function node(redisUrl: string, id: string, got: string[]) {
  const server = track(
    await createServer({
      preset: presetCluster,
      plugins: [streams],
      options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, cluster: { redisUrl, nodeId: id, heartbeatMs: 200, nodeTtlMs: 1000 } },
    }),
  )
  server.streams.handle('text', async (stream: StreamReader<string>) => {
    try {
      for await (const frame of stream) got.push(`${id}:${frame.data}`)
    } catch {
      // the client's side was aborted
    }
  })
  await server.start()
  return server
}

describe('streams across a cluster takeover', () => {
  it("a stream fails with E_CLOSED when its session resumes on another node; a new stream works there", async () => {
    const redis = await startRedis()
    const got: string[] = []
    const [a, b] = await Promise.all([node(redis.url, 'a', got), node(redis.url, 'b', got)])
    const client = track(await createClient({ preset: presetCluster, plugins: [streams], options: { cluster: { urls: [a.url!, b.url!] }, reconnect: { initialDelayMs: 50, maxDelayMs: 100 } } }))
    const recoveries: Array<Record<string, unknown>> = []
    client.cluster.on('recovery', (e) => void recoveries.push(e))
    await client.start()
    const writer = await client.streams.open<string>('text')
    await writer.write('one')
    await until(() => got.includes('a:one'), 5000, 'the first frame on a')

    cut(client.session!)
    await until(() => recoveries.length === 1, 10_000, 'the resume on node b')
    expect(recoveries[0]).toMatchObject({ recovered: true, node: 'b', moved: true })
    // The old stream is over, at once and with a code that says so (not a write that waits forever).
    expect(writer.state).toBe('aborted')
    const failure = await writer.write('two').then(() => undefined, (error: EchoError) => error)
    expect(failure?.code).toBe('E_CLOSED')
    expect(failure?.message).toMatch(/another server/)

    const again = await client.streams.open<string>('text')
    await again.write('three')
    await again.end()
    await until(() => got.includes('b:three'), 5000, 'the new stream on b')
    expect(got).toEqual(['a:one', 'b:three'])
  })
})
