/**
 * An RPC result (or params) larger than the peer's announced `maxPayload` fails that one call with
 * E_PAYLOAD_TOO_LARGE at send time (wire contract 2), and nothing else: the session stays open,
 * other calls in flight complete, and with plugin-reconnect loaded there is no reconnect loop (the
 * oversize frame is never recorded for replay).
 */
import { describe, expect, it } from 'vitest'
import { type EchoKernel } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import reconnect from '@echostream/plugin-reconnect'
import rpc from '@echostream/plugin-rpc'
import { sleep, track } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

const KiB = 1024
const CLIENT_MAX = 64 * KiB

async function pair(withReconnect: boolean): Promise<{ server: EchoKernel; client: EchoKernel; reconnects: unknown[] }> {
  const extra = withReconnect ? [[reconnect, { graceMs: 5000 }] as const] : []
  const server = track(await createServer({ plugins: [transportWs, codecMsgpack, rpc, ...extra], options: { 'transport-ws': { host: '127.0.0.1', port: 0 } } }))
  await server.start()
  const client = track(
    await createClient({
      url: server.url,
      plugins: [transportWs, codecMsgpack, rpc, ...(withReconnect ? [[reconnect, { initialDelayMs: 20, maxDelayMs: 50 }] as const] : [])],
      options: { 'transport-ws': { maxPayload: CLIENT_MAX } },
    }),
  )
  const reconnects: unknown[] = []
  if (withReconnect) (client as unknown as { reconnect: { on(e: string, f: (x: unknown) => void): void } }).reconnect.on('reconnected', (e) => reconnects.push(e))
  await client.start()
  server.rpc.handle('blob', (size: number) => new Uint8Array(size))
  server.rpc.handle('later', async (ms: number) => {
    await sleep(ms)
    return 'done'
  })
  server.rpc.handle('ping', () => 'pong')
  return { server, client, reconnects }
}

for (const withReconnect of [false, true]) {
  describe(`an oversize rpc result ${withReconnect ? 'with' : 'without'} plugin-reconnect`, () => {
    it('fails only that call with E_PAYLOAD_TOO_LARGE; the session and other calls carry on', async () => {
      const { server, client, reconnects } = await pair(withReconnect)
      const sessionId = client.session!.id
      const slow = client.rpc.request('later', 200)
      const error = await rejection(client.rpc.request('blob', 2 * CLIENT_MAX))
      expect(error.code).toBe('E_PAYLOAD_TOO_LARGE')
      expect(error.message).toMatch(/'blob'/)
      // Just below the limit still works.
      expect(((await client.rpc.request('blob', CLIENT_MAX - 1024)) as Uint8Array).length).toBe(CLIENT_MAX - 1024)
      expect(await slow).toBe('done')
      expect(await client.rpc.request('ping')).toBe('pong')
      await sleep(150) // a reconnect loop would show here
      expect(reconnects).toEqual([])
      expect(client.session!.id).toBe(sessionId)
      expect(client.session!.state).toBe('open')
      expect(server.sessions()).toHaveLength(1)
    })

    it('oversize params fail the call at the caller, before anything is sent', async () => {
      const { server, client, reconnects } = await pair(withReconnect)
      // The server's default maxPayload is 1 MiB.
      const error = await rejection(client.rpc.request('ping', new Uint8Array(2 * 1024 * KiB)))
      expect(error.code).toBe('E_PAYLOAD_TOO_LARGE')
      expect(await client.rpc.request('ping')).toBe('pong')
      await sleep(100)
      expect(reconnects).toEqual([])
      expect(server.sessions()).toHaveLength(1)
    })
  })
}
