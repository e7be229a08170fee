/**
 * The fake platform on its own (its own process): a wrong bot token is refused, and a member that
 * stops reading is cut off instead of growing the platform's memory, while the others carry on.
 */
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { encode } from '../src/platform/protocol.js'
import { BOT_TOKEN, onCleanup, startPlatform, until, User } from './harness.js'

const portOf = (url: string) => Number(/:(\d+)$/.exec(url)![1])

describe('fake platform', () => {
  it('refuses a wrong bot token, and cuts off a member that does not read while the others carry on', async () => {
    const platform = await startPlatform()

    const bot = connect(portOf(platform.url), '127.0.0.1')
    onCleanup(() => bot.destroy())
    let botSaid = ''
    bot.setEncoding('utf8').on('data', (d: string) => (botSaid += d))
    bot.write(encode({ type: 'hello', bot: true, token: `${BOT_TOKEN}-wrong` }))
    await new Promise<void>((resolve) => bot.once('close', () => resolve()))
    expect(botSaid).toContain('"E_UNAUTHORIZED"')

    // a member that joins and then never reads
    const sleeper = connect(portOf(platform.url), '127.0.0.1')
    onCleanup(() => sleeper.destroy())
    let welcomed = false
    sleeper.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('"joined"')) welcomed = true
    })
    sleeper.write(encode({ type: 'hello', user: 'sleeper' }) + encode({ type: 'join', conversation: 'flood' }))
    await until(() => welcomed, 10_000, 'the sleeper joined')
    sleeper.pause()
    let received = 0
    sleeper.removeAllListeners('data')

    const writer = await User.connect(platform.url, 'writer')
    const text = 'x'.repeat(16_000)
    const count = 800 // 12.8 MB fanned out to the sleeper
    let acked = 0
    writer.connection.on((m) => m.type === 'sent' && acked++)
    for (let i = 0; i < count; i++) {
      if (!writer.connection.send({ type: 'send', conversation: 'flood', text })) await writer.connection.drained()
    }
    await until(() => acked === count, 30_000, 'every message acknowledged to the writer')
    expect(writer.errors).toEqual([])
    expect(await writer.connection.ping()).toBeGreaterThanOrEqual(0)

    // the sleeper was cut off: reading now yields far less than was sent to it, then the end
    const ended = new Promise<void>((resolve) => sleeper.once('close', () => resolve()))
    sleeper.on('data', (d: string) => (received += d.length))
    sleeper.resume()
    await ended
    expect(received).toBeLessThan(count * text.length * 0.8)
    console.log(`a member that did not read was cut off after ${(received / 1e6).toFixed(1)} MB of ${((count * text.length) / 1e6).toFixed(1)} MB`)
  })
})
