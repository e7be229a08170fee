import { describe, expect, it } from 'vitest'
import { definePlugin, type Frame } from '@echostream/kernel'
import { createServer, createClient } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import clockSync from '@echostream/plugin-clock-sync'
import { sleep, track } from '../helpers/fixtures.js'

// Fast probes: more samples, so the min-delay filter finds quiet exchanges even on a loaded machine.
const fast = { burstGapMs: [10, 20], intervalMs: [15, 30] }

async function syncedPair(clientOffsetMs: number) {
  const server = track(await createServer({ plugins: [transportWs, codecMsgpack, clockSync] }))
  await server.start()
  const client = track(
    await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, [clockSync, { localOffsetMs: clientOffsetMs, ...fast }]] }),
  )
  await client.start()
  await client.clock.whenSynced({ samples: 40, timeoutMs: 15_000 })
  return { server, client }
}

/** A server plugin with one tap on the inbound or outbound frame hook. */
function frameTap(name: string, hook: 'inbound' | 'outbound', tap: (frame: Frame | null) => Frame | null) {
  return definePlugin({
    name,
    version: '1.0.0',
    kernel: '^1',
    setup(kernel) {
      kernel.hooks[hook].tap(name, tap)
    },
  })
}

/** |client's view of server time − server time|, read back to back in one process (both use this machine's clock). */
function errorUs(client: { clock: { now(): number } }, server: { clock: { now(): number } }): number {
  const a = server.clock.now()
  const c = client.clock.now()
  const b = server.clock.now()
  return Math.abs(c - (a + b) / 2)
}

describe('clock sync over a real loopback WebSocket', () => {
  for (const offsetMs of [10_000, -10_000]) {
    it(`a client clock offset by ${offsetMs / 1000} s reads server time within 1 ms`, async () => {
      const { server, client } = await syncedPair(offsetMs)
      // The local clocks really are 10 s apart…
      expect(Math.abs(client.clock.localNow() - server.clock.now() - offsetMs * 1000)).toBeLessThan(50_000)
      // …and the synchronised clock removes it.
      const errors: number[] = []
      for (let i = 0; i < 20; i++) {
        errors.push(errorUs(client, server))
        await sleep(10)
      }
      errors.sort((x, y) => x - y)
      expect(errors[errors.length >> 1]).toBeLessThan(1000)
      const reading = client.clock.reading()
      expect(reading.samples).toBeGreaterThanOrEqual(40)
      expect(Math.abs(reading.offsetUs + offsetMs * 1000)).toBeLessThan(1000)
      expect(reading.rttUs).toBeGreaterThan(0)
    })
  }

  it('never runs backwards and maps frame times both ways', async () => {
    const { client } = await syncedPair(3_000)
    let last = -Infinity
    for (let i = 0; i < 2000; i++) {
      const t = client.clock.now()
      expect(t).toBeGreaterThanOrEqual(last)
      last = t
    }
    const local = client.clock.localNow()
    // µs since 1970 are ~1.8e15: doubles resolve them to about 0.25 µs.
    expect(Math.abs(client.clock.toLocal(client.clock.fromLocal(local)) - local)).toBeLessThan(1)
  })

  it('t2 is the arrival time: 4 ms spent in the server\'s inbound pipeline before the handler do not bias the offset', async () => {
    // A plugin whose inbound tap holds every ping for 4 ms (a busy wait: the queue in front of the
    // handler). Stamping t2 in the handler would make the path look 4 ms longer one way: a 2 ms bias.
    const slowInbound = frameTap('slow-inbound', 'inbound', (frame) => {
      if (frame?.kind === 'clock.ping') for (const until = performance.now() + 4; performance.now() < until; );
      return frame
    })
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, clockSync, slowInbound] }))
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, [clockSync, fast]] }))
    await client.start()
    const reading = await client.clock.whenSynced({ samples: 24, timeoutMs: 15_000 })
    // Same machine, same clock: the true offset is 0.
    expect(Math.abs(reading.estimatedOffsetUs)).toBeLessThan(1000)
    expect(reading.rttUs).toBeGreaterThan(0)
  })

  it('answers the estimator rejects during the burst are made up at the burst pace: synced in well under one steady gap', async () => {
    // The server's pongs to probes 3 and 8 carry stamps a second early: impossible for a path this
    // short, so the client's estimator rejects them. Probe 8 is the burst's last: its rejection
    // arrives after the steady gap (5 s here) was already scheduled, and must cut it short.
    const glitchPongs = frameTap('glitch-pongs', 'outbound', (frame) => {
      if (frame?.kind !== 'clock.pong' || (frame.id !== 3 && frame.id !== 8)) return frame
      const [t1, t2, t3] = frame.payload as number[]
      return { ...frame, payload: [t1, t2! - 1e6, t3! - 1e6] }
    })
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, clockSync, glitchPongs] }))
    await server.start()
    const client = track(
      await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, [clockSync, { burstGapMs: [10, 20], intervalMs: [5000, 5000] }]] }),
    )
    const started = performance.now()
    await client.start()
    const reading = await client.clock.whenSynced({ samples: 8, timeoutMs: 4000 })
    expect(reading.samples).toBe(8)
    expect(performance.now() - started).toBeLessThan(4000)
    expect(Math.abs(reading.estimatedOffsetUs)).toBeLessThan(1000)
  })

  it('a client with clock-sync is refused by a server without it (E_INCOMPATIBLE)', async () => {
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack] }))
    await server.start()
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, clockSync] }))
    await expect(client.start()).rejects.toMatchObject({ code: 'E_INCOMPATIBLE' })
  })
})
