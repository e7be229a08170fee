/**
 * Streaming calls across a socket cut with plugin-reconnect: the session is suspended and resumed,
 * and the stream carries on — every item exactly once, in order, in both directions (results and
 * streamed input), the handler's generator never restarted, credit still bounding it.
 */
import { describe, expect, it } from 'vitest'
import { type EchoKernel, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import reconnect from '@echostream/plugin-reconnect'
import rpc, { type RpcStream } from '@echostream/plugin-rpc'
import { sleep, track, until } from '../helpers/fixtures.js'

/** Cuts the client's socket without a close handshake, as a network failure would. */
function cut(session: Session): void {
  ;(session as unknown as { connection: { socket: { terminate(): void } } }).connection.socket.terminate()
}

async function startPair(): Promise<{ server: EchoKernel; client: EchoKernel; resumes: Array<{ recovered?: boolean }> }> {
  const server = track(await createServer({ plugins: [transportWs, codecMsgpack, rpc, [reconnect, { graceMs: 10_000 }]], options: { 'transport-ws': { host: '127.0.0.1', port: 0 } } }))
  await server.start()
  const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, rpc, [reconnect, { initialDelayMs: 30, maxDelayMs: 100, ackIntervalMs: 20 }]] }))
  const resumes: Array<{ recovered?: boolean }> = []
  client.reconnect.on('reconnected', (event) => void resumes.push(event as { recovered?: boolean }))
  await client.start()
  return { server, client, resumes }
}

describe('streaming calls across a reconnect', () => {
  it('a streamed result survives two socket cuts: no item lost or repeated, the generator runs once', async () => {
    const { server, client, resumes } = await startPair()
    const N = 3000
    let starts = 0
    let pulled = 0
    server.rpc.handle('numbers', async function* (count: number) {
      starts++
      for (let i = 0; i < count; i++) {
        pulled++
        yield i
        if (i % 100 === 0) await sleep(1)
      }
      return 'complete'
    })
    const stream = client.rpc.stream('numbers', N, { windowBytes: 2048, idleTimeoutMs: 5000 }) as RpcStream<number, string>
    const seen: number[] = []
    const sessionId = client.session!.id
    for await (const n of stream) {
      seen.push(n)
      if (seen.length === 700 || seen.length === 1900) {
        cut(client.session!)
        await until(() => client.session!.state === 'suspended', 5000, 'the client session to be suspended')
      }
    }
    expect(resumes.length).toBeGreaterThanOrEqual(2)
    expect(resumes.every((r) => r.recovered === true)).toBe(true)
    expect(client.session!.id).toBe(sessionId)
    expect(seen).toEqual(Array.from({ length: N }, (_, i) => i))
    expect(await stream.result).toBe('complete')
    expect(starts).toBe(1)
    expect(pulled).toBe(N)
  })

  it('a streamed input survives a socket cut: the handler reads every item once, in order', async () => {
    const { server, client, resumes } = await startPair()
    const N = 3000
    const received: number[] = []
    server.rpc.handle('collect', async (input: AsyncIterable<number>) => {
      for await (const n of input) received.push(n)
      return received.length
    })
    let produced = 0
    async function* numbers() {
      for (let i = 0; i < N; i++) {
        produced++
        yield i
        if (i % 100 === 0) await sleep(1)
      }
    }
    const call = client.rpc.request('collect', numbers(), { timeoutMs: 20_000 })
    await until(() => produced >= 800, 5000, 'some input sent')
    cut(client.session!)
    expect(await call).toBe(N)
    expect(resumes.length).toBeGreaterThanOrEqual(1)
    expect(received).toEqual(Array.from({ length: N }, (_, i) => i))
  })
})
