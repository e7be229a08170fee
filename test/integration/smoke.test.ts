import { describe, expect, it } from 'vitest'
import { definePlugin, type Frame } from '@echostream/kernel'
import { createServer, createClient } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import { track, until } from '../helpers/fixtures.js'

describe('smoke', () => {
  it('handshakes and routes a frame', async () => {
    const seen: Frame[] = []
    const echo = definePlugin({
      name: 'echo', version: '1.0.0', kernel: '^1', requires: ['transport', 'codec'], wire: 1,
      setup(kernel) {
        kernel.route('echo.ping', { handler(frame, session) { seen.push(frame); session.send({ kind: 'echo.pong', payload: frame.payload }) } })
      },
    })
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, echo] }))
    await server.start()
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    const got: Frame[] = []
    const echoClient = definePlugin({ name: 'echo', version: '1.0.0', kernel: '^1', wire: 1, setup(k) { k.route('echo.pong', { handler(f) { got.push(f) } }) } })
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, echoClient] }))
    await client.start()
    expect(client.session?.id).toBeTruthy()
    client.session!.send({ kind: 'echo.ping', payload: new Uint8Array([1, 2, 3]) })
    await until(() => got.length === 1)
    expect(Buffer.from(got[0]!.payload as Uint8Array)).toEqual(Buffer.from([1, 2, 3]))
    expect(server.sessions()).toHaveLength(1)
  })
})
