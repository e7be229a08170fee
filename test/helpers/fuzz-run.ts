/**
 * The fuzz run: a real server in a child process (fuzz-server.ts), well-behaved echostream clients
 * that keep calling RPCs and receiving broadcast ticks, and many raw `ws` connections sending the
 * generated hostile cases (fuzz-cases.ts) — most after a valid hello, so the post-handshake paths
 * are hit, some with the handshake out of order. A watchdog fails the run on an event-loop stall
 * (lag reported by the server, or no heartbeat at all), a crash, an uncaught exception or
 * unhandled rejection in the server, and reports memory after GC before and after.
 * Used by test/integration/fuzz.test.ts (bounded) and scripts/fuzz.mjs (long runs).
 */
import { setImmediate as yieldTurn, setTimeout as sleep } from 'node:timers/promises'
import { WebSocket } from 'ws'
import { unpack } from 'msgpackr'
import { type EchoKernel } from '@echostream/kernel'
import { createClient } from './create.js'
import preset from '@echostream/preset-default'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
import reconnect from '@echostream/plugin-reconnect'
import { devtoolsToken, Rng, type GenContext } from './fuzz-frames.js'
import { drawCase, handshakeCase, plainPackr, type FuzzCase } from './fuzz-cases.js'
import { bump, type FuzzReport } from './fuzz-report.js'
import { ServerProcess } from './fuzz-watchdog.js'

export { formatReport, MEMORY_BOUNDS, problems, type FuzzReport, type Memory, type ServerFailure } from './fuzz-report.js'

export interface FuzzOptions {
  seed: number
  /** Hostile messages to send in all. */
  frames: number
  /** Hostile connections open at once (default 24). */
  connections?: number
  /** Well-behaved clients (default 3). */
  goodClients?: number
  /** The server's maxPayload (default 256 KiB: oversize cases stay cheap). */
  maxPayload?: number
  /** Stop sending after this long, whatever the count (default 120 s). */
  timeLimitMs?: number
  /** Event-loop lag in the server that counts as a stall (default 1000 ms). */
  stallMs?: number
  /** Progress lines. */
  log?: (line: string) => void
  /** Make the server misbehave once the run is under way (fuzz-server.ts): proves the watchdog. */
  sabotage?: string[]
}

/** How a hostile connection behaves, by weight. */
const CONNECTION_MODES = {
  /** hello, a burst of cases, a probe call */
  normal: 70,
  /** no proper handshake: frames before hello, two hellos, bad hellos */
  handshake: 12,
  /** hello with the resume token of this worker's last session (a real one), then as normal */
  resume: 10,
  /** stops reading its socket during the burst */
  paused: 5,
  /** accepts messages of at most 2 KiB (closes with 1009 on larger ones) */
  'small-reader': 3,
  /** announces an odd `limits.maxPayload` in hello (tiny, zero, negative, not a number) */
  'odd-limits': 3,
  /** stops reading and asks for ~20 MiB of replies: more than the server's outbound budget (8 MiB) and the socket buffers */
  'slow-consumer': 2,
  /** hello with a devtools token (mostly the right one): gets devtools.update pushes, asks for a snapshot, then as normal */
  devtools: 6,
} as const

/**
 * `hello.limits.maxPayload` values of the 'odd-limits' connections. Below the protocol's 1 KiB
 * floor (1, 1.5, 16, 64, 200, 1023) the handshake refuses them with E_PROTOCOL: before that floor
 * (seeds 11 and 7) such a peer got a session in which nothing, not even an error, could reach it.
 */
/** Request ids of the 'devtools' connections' snapshot request (one per connection). */
const DEVTOOLS_PROBE = 2_000_000

const ODD_MAX_PAYLOADS: unknown[] = [0, -1, 0.5, 1, 1.5, 16, 64, 200, 1023, Number.NaN, 2 ** 60, 1e9 + 0.5, '1000', null, true, [1024]]

interface WorkerState {
  /** The last session this worker's connections had, for a resume. */
  last: { sessionId: string; token: string; received: number } | undefined
}

function hexPrefix(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return `${bytes.subarray(0, 48).toString('hex')}${bytes.byteLength > 48 ? `…(${bytes.byteLength} bytes)` : ''}`
}

/** A well-behaved client: calls `echo`/`add` in a loop, checks every answer and every tick. */
async function goodClient(url: string, index: number, report: FuzzReport['good'], running: () => boolean): Promise<{ client: EchoKernel; done: Promise<void> }> {
  const client = await createClient({ url, plugins: [...preset.plugins, streams, clockSync, reconnect] })
  let lastTick: number | undefined
  client.events.on('tick', (data: { seq: number }) => {
    report.ticks++
    if (lastTick !== undefined && data.seq !== lastTick + 1) report.tickGaps++
    lastTick = data.seq
  })
  await client.start()
  const fail = (what: string) => {
    report.failed++
    if (report.failures.length < 10) report.failures.push(`client ${index}: ${what}`)
  }
  const loop = async (lane: number) => {
    for (let n = 0; running(); n++) {
      try {
        if (n % 2 === 0) {
          const params = { n, lane, text: 'good', bin: Buffer.from([n & 0xff, lane]) }
          const result = (await client.rpc.request('echo', params)) as typeof params
          if (result?.n !== n || result.text !== 'good' || !Buffer.from(result.bin).equals(params.bin)) fail(`echo answered ${JSON.stringify(result)}`)
          else report.ok++
        } else {
          const result = await client.rpc.request('add', { a: n, b: lane })
          if (result !== n + lane) fail(`add(${n}, ${lane}) answered ${JSON.stringify(result)}`)
          else report.ok++
        }
      } catch (error) {
        fail(`${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message}`)
        await sleep(50)
      }
      // Steady traffic, not a flood: the hostile connections must get the server's time too.
      await sleep(1)
    }
  }
  return { client, done: Promise.all([loop(0), loop(1)]).then(() => {}) }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now()
  const log = options.log ?? (() => {})
  const maxPayload = options.maxPayload ?? 256 * 1024
  const graceMs = 1000
  const timeLimit = started + (options.timeLimitMs ?? 120_000)
  const report: FuzzReport = {
    seed: options.seed,
    framesSent: 0,
    cases: {},
    connections: 0,
    modes: {},
    refusedConnections: 0,
    errorFrames: {},
    pluginErrors: {},
    serverCloses: {},
    probes: { answered: 0, closed: 0, unanswered: 0, unansweredModes: {} },
    good: { ok: 0, failed: 0, failures: [], ticks: 0, tickGaps: 0 },
    server: { maxLagMs: 0, peakRss: 0, before: { rss: 0, heapUsed: 0, sessions: 0 }, after: { rss: 0, heapUsed: 0, sessions: 0 }, failures: [] },
    durationMs: 0,
  }
  const recent: string[] = []
  const remember = (line: string) => {
    recent.push(line)
    if (recent.length > 30) recent.shift()
  }
  const server = new ServerProcess({ maxPayload, graceMs, handshakeTimeoutMs: 2000 }, options.stallMs ?? 1000, () => recent.slice())
  let goodRunning = true
  const goods: Array<{ client: EchoKernel; done: Promise<void> }> = []
  let hang: ReturnType<typeof setInterval> | undefined
  try {
    const listening = await server.listening()
    // Watched from the moment it listens: a cold start (tsx compiling the server) under a loaded
    // CI machine took over 3 s and was once reported as a hang.
    hang = setInterval(() => {
      if (Date.now() - server.lastBeat > 3000 && server.failures.every((f) => f.kind !== 'hang')) server.fail('hang', `no heartbeat from the server for ${Date.now() - server.lastBeat} ms`)
    }, 250)
    log(`server ${listening.url} (protocol ${listening.protocol}, plugins ${JSON.stringify(listening.plugins)})`)
    for (let i = 0; i < (options.goodClients ?? 3); i++) goods.push(await goodClient(listening.url, i, report.good, () => goodRunning))
    await sleep(500)
    report.server.before = await server.memory()
    if (options.sabotage) server.child.send({ type: 'sabotage', what: options.sabotage })

    const rng = new Rng(options.seed)
    const resumeTokens: Array<[string, string]> = []
    const failed = () => server.failures.length > 0
    const more = () => report.framesSent < options.frames && Date.now() < timeLimit && !failed()

    const connection = async (conn: number, connRng: Rng, worker: WorkerState) => {
      const ctx: GenContext = { rng: connRng, streamIds: [], serverRequestIds: [], resumeTokens, protocol: listening.protocol, plugins: listening.plugins, maxPayload }
      const mode = connRng.weighted(CONNECTION_MODES)
      bump(report.modes, mode)
      // A reader with a small maxPayload closes (1009) on the server's larger frames: a lost link
      // that reconnect suspends, and that the next connection of this worker may resume.
      const ws = new WebSocket(listening.url, { perMessageDeflate: false, maxPayload: mode === 'small-reader' ? 2048 : 64 * 1024 * 1024 })
      const resuming = mode === 'resume' ? worker.last : undefined
      let received = 0
      let closedByUs = false
      let closed = false
      let welcomed = false
      let current = ''
      const waiting = new Map<number, () => void>()
      const closedPromise = new Promise<void>((resolve) => {
        ws.on('close', (code) => {
          closed = true
          if (!closedByUs) bump(report.serverCloses, String(code))
          for (const wake of waiting.values()) wake()
          resolve()
        })
      })
      ws.on('error', () => {})
      ws.on('message', (data: Buffer) => {
        // The empty message is the heartbeat (PROTOCOL.md): the server answers ours.
        if (data.byteLength === 0) return void bump(report.errorFrames, '(heartbeat)')
        let frame: unknown
        try {
          frame = unpack(data)
        } catch {
          bump(report.errorFrames, '(undecodable message from the server)')
          return
        }
        if (!Array.isArray(frame)) return
        const [kind, id, , payload] = frame as [string, unknown, unknown, Record<string, unknown> | undefined]
        // What reconnect counts: every frame but the handshake, acks and clock probes.
        if (kind !== 'hello' && kind !== 'welcome' && kind !== 'reconnect.ack' && !String(kind).startsWith('clock.')) received++
        if (worker.last && worker.last.sessionId === current) worker.last.received = received
        if (kind === 'error') bump(report.errorFrames, String(payload?.code))
        else if (kind === 'rpc.err' || kind === 'stream.abort') bump(report.pluginErrors, `${kind}:${String(payload?.code)}`)
        else if (kind === 'welcome') {
          welcomed = true
          const resume = payload?.resume as { token?: string; recovered?: boolean } | undefined
          if (typeof payload?.sessionId === 'string' && typeof resume?.token === 'string') {
            if (resumeTokens.length < 50) resumeTokens.push([payload.sessionId, resume.token])
            current = payload.sessionId
            if (resume.recovered === true) bump(report.modes, 'resume:recovered')
            // A recovered session goes on counting from what this side said it had received.
            received = resume.recovered === true && resuming && typeof resuming.received === 'number' ? resuming.received : 0
            worker.last = { sessionId: current, token: resume.token, received }
          }
        } else if (kind === 'rpc.req' && typeof id === 'number') ctx.serverRequestIds.push(id)
        else if (kind === 'stream.open' && typeof id === 'number') ctx.streamIds.push(id)
        else if (kind === 'events.emit' && frame[2] === 'devtools.update') bump(report.modes, 'devtools:update')
        if (kind === 'rpc.res' && id === DEVTOOLS_PROBE + conn && typeof payload?.server === 'object') bump(report.modes, 'devtools:snapshot')
        if ((kind === 'rpc.res' || kind === 'rpc.err' || kind === 'welcome') && typeof id === 'number') waiting.get(id)?.()
        if (kind === 'welcome') waiting.get(-1)?.()
      })
      const until = (key: number, ms: number) =>
        new Promise<boolean>((resolve) => {
          if (closed || server.isDead) return resolve(false)
          void server.dead.then(() => resolve(false))
          const timer = setTimeout(() => {
            waiting.delete(key)
            resolve(false)
          }, ms)
          waiting.set(key, () => {
            clearTimeout(timer)
            waiting.delete(key)
            resolve(true)
          })
        })
      const opened = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5000)
        void server.dead.then(() => resolve(false))
        ws.once('open', () => {
          clearTimeout(timer)
          resolve(true)
        })
        ws.once('error', () => {
          clearTimeout(timer)
          resolve(false)
        })
      })
      if (!opened) {
        report.refusedConnections++
        remember(`conn ${conn}: could not connect`)
        ws.terminate()
        await sleep(50)
        return
      }
      report.connections++
      const sendCase = (fuzz: FuzzCase) => {
        bump(report.cases, fuzz.name.split(':').slice(0, 2).join(':').split('+')[0]!)
        for (const message of fuzz.messages) {
          if (closed) return
          remember(`conn ${conn} ${fuzz.name}: ${hexPrefix(message.data)}`)
          ws.send(message.data, { binary: typeof message.data !== 'string' && !message.text })
          report.framesSent++
        }
      }
      try {
        if (mode === 'handshake') {
          sendCase(handshakeCase(ctx))
          await Promise.race([closedPromise, sleep(300)])
        } else {
          const subset = connRng.chance(0.2)
          const plugins = subset ? Object.fromEntries(Object.entries(listening.plugins).filter(() => connRng.chance(0.5))) : listening.plugins
          const limits = mode === 'odd-limits' ? connRng.pick([{ maxPayload: connRng.pick(ODD_MAX_PAYLOADS) }, {}, null, 'limits', [1]]) : { maxPayload: mode === 'small-reader' ? 2048 : 64 * 1024 * 1024 }
          const hello: Record<string, unknown> = { protocol: listening.protocol, codec: 'msgpack', plugins, limits }
          if (resuming) {
            hello.resume = { sessionId: resuming.sessionId, token: resuming.token, received: connRng.chance(0.8) ? resuming.received : connRng.pick([0, -1, 2 ** 53, resuming.received + 1000, 1.5]) }
            // keptAfter: what this side still holds of what it sent (it holds nothing: the server must not replay-expect beyond it).
            if (connRng.chance(0.3)) (hello.resume as Record<string, unknown>).keptAfter = connRng.pick([0, resuming.received, 2 ** 53, -1, 0.5, '1'])
          }
          if (mode === 'devtools') hello.devtoolsToken = devtoolsToken(connRng)
          ws.send(plainPackr.pack(['hello', null, null, hello]))
          report.framesSent++
          await until(-1, 5000)
          if (!welcomed) return
          if (mode === 'devtools') {
            // A well-formed snapshot request first (the burst sends hostile ones): a devtools session gets the snapshot.
            ws.send(plainPackr.pack(['rpc.req', DEVTOOLS_PROBE + conn, 'devtools.snapshot', null]))
            report.framesSent++
            await until(DEVTOOLS_PROBE + conn, 5000)
          }
        }
        // A paused reader stops reading its socket for the burst: the server's replies pile up.
        if (mode === 'paused' || mode === 'slow-consumer') ws.pause()
        if (mode === 'slow-consumer') {
          const big = Buffer.alloc(Math.min(200 * 1024, maxPayload - 1024), 7)
          for (let i = 0; i < 100 && !closed; i++) {
            ws.send(plainPackr.pack(['rpc.req', 500_000 + i, 'echo', big]))
            report.framesSent++
            bump(report.cases, 'slow-consumer:echo')
            if (i % 8 === 7) await yieldTurn()
          }
        }
        const burst = connRng.int(5, 80)
        for (let i = 0; i < burst && !closed && more(); i++) {
          sendCase(drawCase(ctx))
          if (i % 8 === 7) {
            await yieldTurn()
            // Bounded: a hung server never drains the socket (this wait once outlived the test).
            while (!closed && ws.bufferedAmount > 1024 * 1024 && !failed() && Date.now() < timeLimit) await sleep(5)
          }
        }
        if (mode === 'paused' || mode === 'slow-consumer') {
          await Promise.race([sleep(mode === 'slow-consumer' ? 1500 : connRng.int(10, 500)), closedPromise, server.dead])
          ws.resume()
        }
        if (!closed && welcomed) {
          // The session must still answer (or have been closed with a code): send a probe call.
          const probe = 1_000_000 + conn
          ws.send(plainPackr.pack(['rpc.req', probe, 'echo', 'probe']))
          report.framesSent++
          const answered = await until(probe, 5000)
          if (answered) report.probes.answered++
          else if (closed) report.probes.closed++
          else {
            report.probes.unanswered++
            bump(report.probes.unansweredModes, mode)
            remember(`conn ${conn} (${mode}): the probe call got no answer within 5 s`)
          }
        }
      } finally {
        if (!closed) {
          closedByUs = true
          const how = connRng.int(0, 9)
          // A deliberate close (1000) ends the session; the others may leave it suspended for a resume.
          if (how < 5) {
            ws.close(1000)
            worker.last = undefined
          } else if (how < 8) ws.terminate()
          else ws.close(connRng.pick([1001, 3000, 4000, 4999]), 'fuzz')
          await Promise.race([closedPromise, sleep(2000), server.dead])
          ws.terminate()
        }
      }
    }

    let nextConn = 0
    const worker = async () => {
      const state: WorkerState = { last: undefined }
      while (more()) {
        const conn = nextConn++
        await connection(conn, new Rng(rng.int(0, 2 ** 32 - 1)), state)
        if (conn % 50 === 0) log(`${report.framesSent} frames, ${report.connections} connections, ${report.refusedConnections} refused, good calls ${report.good.ok} ok / ${report.good.failed} failed, server lag ≤ ${server.maxLagMs} ms`)
      }
    }
    await Promise.all(Array.from({ length: options.connections ?? 24 }, worker))
    log(`sent ${report.framesSent} frames over ${report.connections} connections; waiting for suspended sessions to expire`)
    // Sessions suspended by reconnect expire after graceMs; then the memory is what is left.
    if (!server.isDead) {
      await sleep(graceMs + 1500)
      report.server.after = await Promise.race([server.memory(), server.dead.then(() => report.server.after)])
    }
  } finally {
    goodRunning = false
    // Bounded: a hung server answers nothing.
    await Promise.race([Promise.allSettled(goods.map((g) => g.done)), sleep(server.isDead ? 500 : 10_000)])
    await Promise.race([Promise.allSettled(goods.map((g) => g.client.stop())), sleep(server.isDead ? 500 : 5000)])
    clearInterval(hang)
    report.server.maxLagMs = server.maxLagMs
    report.server.peakRss = server.peakRss
    report.server.failures = server.failures
    await server.stop()
    report.durationMs = Date.now() - started
  }
  return report
}
