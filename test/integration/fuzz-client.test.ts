/**
 * The fuzz test the other way round: a hostile server against real clients. The server fuzz
 * (fuzz.test.ts) cannot reach what only a client parses — the `welcome` and the fields plugins add
 * to it (reconnect's `resume`, streams' `epoch`, cluster's `node`/`epoch`/`recovered`/`inDoubt`) —
 * so here a raw `ws` server answers each client's `hello` with a welcome whose fields are plausible
 * or hostile, sends generated frames (fuzz-frames.ts, mutated), and sometimes drops the link so the
 * client resumes and gets a hostile resume welcome. Each client (default preset + streams +
 * clock-sync + reconnect + cluster) must settle `start()` with nothing or an EchoError, stop within
 * a bound, and nothing may escape as an uncaught exception or unhandled rejection.
 */
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocketServer, type WebSocket } from 'ws'
import { unpack } from 'msgpackr'
import { EchoError } from '@echostream/kernel'
import preset from '@echostream/preset-default'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
import reconnect from '@echostream/plugin-reconnect'
import cluster from '@echostream/plugin-cluster'
import { afterAll, describe, expect, it } from 'vitest'
import { createClient } from '../helpers/create.js'
import { randomString, randomValue, Rng, type GenContext } from '../helpers/fuzz-frames.js'
import { generatedFrame, plainPackr } from '../helpers/fuzz-cases.js'

/** A failure replays with its seed: FUZZ_CLIENT_SEED=N npx vitest run test/integration/fuzz-client.test.ts. */
const SEED = Number(process.env.FUZZ_CLIENT_SEED ?? 5)
const CASES = 120

/** A number a client reads as a count, an interval or a size: plausible, or hostile. */
function count(rng: Rng): unknown {
  return rng.chance(0.7) ? rng.int(0, 5000) : rng.pick([-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 64, '10', null, [1], {}])
}

/** Sometimes replace `value` by anything at all. */
function maybeHostile<T>(rng: Rng, value: T, p = 0.15): T | unknown {
  return rng.chance(p) ? randomValue(rng, 2) : value
}

/** A welcome for `hello`: the fields a server with these plugins sends, each plausible or hostile. */
function welcomeFor(rng: Rng, hello: Record<string, unknown>, resuming: boolean): Record<string, unknown> {
  const sessionId = resuming && rng.chance(0.6) ? ((hello.resume as { sessionId?: unknown } | undefined)?.sessionId ?? 's') : randomString(rng).slice(0, 40) || 's'
  const welcome: Record<string, unknown> = {
    sessionId: maybeHostile(rng, sessionId, 0.05),
    protocol: maybeHostile(rng, hello.protocol, 0.05),
    plugins: maybeHostile(rng, hello.plugins, 0.1),
    limits: maybeHostile(rng, { maxPayload: rng.chance(0.8) ? 1024 * 1024 : count(rng), pingIntervalMs: rng.chance(0.8) ? 25_000 : count(rng), pingTimeoutMs: rng.chance(0.8) ? 20_000 : count(rng) }, 0.05),
  }
  if (rng.chance(0.9)) {
    welcome.resume = maybeHostile(rng, resuming && rng.chance(0.7)
      ? { token: randomString(rng), graceMs: count(rng), recovered: rng.pick([true, true, false, 1, 'yes']), received: count(rng) }
      : { token: rng.chance(0.9) ? randomString(rng) : randomValue(rng, 1), graceMs: count(rng) })
  }
  if (rng.chance(0.9)) welcome.streams = maybeHostile(rng, { epoch: rng.chance(0.8) ? rng.pick(['e1', 'e2', randomString(rng)]) : randomValue(rng, 1) })
  if (rng.chance(0.8)) {
    const c: Record<string, unknown> = { node: rng.chance(0.8) ? rng.pick(['a', 'b', randomString(rng)]) : randomValue(rng, 1), epoch: rng.chance(0.8) ? rng.pick(['x', 'y']) : randomValue(rng, 1) }
    if (resuming || rng.chance(0.2)) {
      c.recovered = rng.pick([true, false, 'no', null])
      if (c.recovered === false) c.reason = rng.pick(['expired', 'trimmed', 'epoch', randomString(rng), 5])
      if (rng.chance(0.4)) c.inDoubt = rng.chance(0.6) ? { from: count(rng), to: count(rng) } : randomValue(rng, 1)
    }
    welcome.cluster = maybeHostile(rng, c)
  }
  return welcome
}

/** Sends `frame` packed; a value msgpackr itself cannot pack (a `toJSON` key that is not a function) is skipped, and a welcome replaced. */
function send(ws: WebSocket, frame: unknown[]): boolean {
  let bytes: Uint8Array
  try {
    bytes = plainPackr.pack(frame)
  } catch {
    if (frame[0] !== 'welcome') return false
    bytes = plainPackr.pack(['welcome', null, null, { sessionId: 's', protocol: 2, plugins: {}, limits: { maxPayload: 1 << 20, pingIntervalMs: 25_000, pingTimeoutMs: 20_000 } }])
  }
  ws.send(bytes)
  return true
}

/** What escaped while the cases ran: must stay empty. */
const escaped: string[] = []
const onUncaught = (error: unknown) => escaped.push(`uncaughtException: ${String((error as Error)?.stack ?? error)}`)
const onUnhandled = (error: unknown) => escaped.push(`unhandledRejection: ${String((error as Error)?.stack ?? error)}`)
process.on('uncaughtException', onUncaught)
process.on('unhandledRejection', onUnhandled)
afterAll(() => {
  process.off('uncaughtException', onUncaught)
  process.off('unhandledRejection', onUnhandled)
})

describe('fuzz: a hostile server against real clients', () => {
  it(`${CASES} clients get hostile welcomes, resumes and frames: start settles, stop is bounded, nothing escapes`, { timeout: 120_000 }, async () => {
    const rng = new Rng(SEED)
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
    await once(wss, 'listening')
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`
    const seen = { connections: 0, hellos: 0, resumes: 0, frames: 0, started: 0, refused: {} as Record<string, number> }
    // Per case: how the server treats each connection the client makes.
    let plan: { rng: Rng; drops: number } = { rng, drops: 0 }
    wss.on('connection', (ws: WebSocket) => {
      seen.connections++
      const r = plan.rng
      ws.on('error', () => {})
      ws.once('message', (data: Buffer) => {
        let hello: Record<string, unknown> = {}
        try {
          const frame = unpack(data) as unknown[]
          if (Array.isArray(frame) && frame[0] === 'hello' && frame[3] && typeof frame[3] === 'object') hello = frame[3] as Record<string, unknown>
        } catch {
          // the client sent something else first: answer anyway
        }
        seen.hellos++
        const resuming = hello.resume !== undefined
        if (resuming) seen.resumes++
        send(ws, ['welcome', null, null, welcomeFor(r, hello, resuming)])
        const ctx: GenContext = { rng: r, streamIds: [], serverRequestIds: [], resumeTokens: [], protocol: Number(hello.protocol) || 2, plugins: (hello.plugins ?? {}) as Record<string, number>, maxPayload: 1024 * 1024 }
        for (let i = r.int(0, 12); i > 0 && ws.readyState === ws.OPEN; i--) {
          if (send(ws, generatedFrame(ctx).frame)) seen.frames++
        }
        // Drop the link (no close frame) now and then: the client resumes, and gets a resume welcome.
        if (plan.drops > 0 && r.chance(0.6)) {
          plan.drops--
          setTimeout(() => ws.terminate(), r.int(0, 30))
        }
      })
    })
    try {
      for (let i = 0; i < CASES; i++) {
        const caseRng = new Rng(rng.int(0, 2 ** 32 - 1))
        plan = { rng: caseRng, drops: caseRng.int(0, 2) }
        const client = await createClient({
          url,
          plugins: [...preset.plugins, streams, clockSync, [reconnect, { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 }], [cluster, { urls: [url] }]],
        })
        client.on('error', () => {})
        const started = await Promise.race([
          client.start().then(
            () => 'started',
            (error: unknown) => (error instanceof EchoError ? `refused:${error.code}` : `not an EchoError: ${String(error)}`),
          ),
          sleep(5000).then(() => 'start did not settle within 5 s'),
        ])
        if (started === 'started') seen.started++
        else if (started.startsWith('refused:')) seen.refused[started.slice(8)] = (seen.refused[started.slice(8)] ?? 0) + 1
        else escaped.push(`case ${i}: ${started}`)
        // Let the frames, the drop and the resume happen.
        await sleep(caseRng.int(20, 120))
        const stopped = await Promise.race([client.stop().then(() => true, () => true), sleep(5000).then(() => false)])
        if (!stopped) escaped.push(`case ${i}: stop() did not settle within 5 s`)
      }
    } finally {
      for (const ws of wss.clients) ws.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
    console.log(`hostile server: ${CASES} clients, ${seen.connections} connections, ${seen.resumes} resumes, ${seen.frames} frames; started ${seen.started}, refused ${JSON.stringify(seen.refused)}`)
    expect(escaped).toEqual([])
    // It reached what it is meant to reach: clients that started, clients that refused a welcome, resumes.
    expect(seen.started).toBeGreaterThan(CASES / 4)
    expect(Object.values(seen.refused).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    expect(seen.resumes).toBeGreaterThan(10)
  })
})
