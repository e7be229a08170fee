/**
 * The fuzz run: a real server in a child process (fuzz-server.ts), well-behaved echostream clients
 * that keep calling RPCs and receiving broadcast ticks, and many raw `ws` connections sending the
 * generated hostile cases (fuzz-cases.ts) — most after a valid hello, so the post-handshake paths
 * are hit, some with the handshake out of order. A watchdog fails the run on an event-loop stall
 * (lag reported by the server, or no heartbeat at all), a crash, an uncaught exception or
 * unhandled rejection in the server, and reports memory after GC before and after.
 * Used by test/integration/fuzz.test.ts (bounded) and scripts/fuzz.mjs (long runs).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { setImmediate as yieldTurn, setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { unpack } from 'msgpackr'
import { type EchoKernel } from '@echostream/kernel'
import { createClient } from './create.js'
import preset from '@echostream/preset-default'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
import reconnect from '@echostream/plugin-reconnect'
import { Rng, type GenContext } from './fuzz-frames.js'
import { drawCase, handshakeCase, plainPackr, type FuzzCase } from './fuzz-cases.js'

const here = dirname(fileURLToPath(import.meta.url))
const WORKSPACE = join(here, '..', '..')
const SERVER = join(here, 'fuzz-server.ts')

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
  /** Also generate what is opted out for a known defect elsewhere (OPTED_OUT_MAX_PAYLOADS). */
  includeOptedOut?: boolean
}

export interface ServerFailure {
  kind: 'stall' | 'hang' | 'crash' | 'uncaughtException' | 'unhandledRejection'
  detail: string
  /** The last cases sent before it (all connections), newest last. */
  recent: string[]
}

export interface FuzzReport {
  seed: number
  framesSent: number
  cases: Record<string, number>
  connections: number
  /** Connections by mode (CONNECTION_MODES), and resumes the server recovered. */
  modes: Record<string, number>
  /** Connections that could not be opened (the server refused or did not answer the upgrade). */
  refusedConnections: number
  /** `error` frames the server sent, by code. */
  errorFrames: Record<string, number>
  /** Plugin error replies (rpc.err, stream.abort), by kind:code. */
  pluginErrors: Record<string, number>
  /** Connections the server closed, by close code (the ones we closed are not counted). */
  serverCloses: Record<string, number>
  /** After each burst a probe call on the same connection: answered, closed meanwhile, or neither within 5 s. */
  probes: { answered: number; closed: number; unanswered: number; unansweredModes: Record<string, number> }
  good: { ok: number; failed: number; failures: string[]; ticks: number; tickGaps: number }
  server: { maxLagMs: number; peakRss: number; before: Memory; after: Memory; failures: ServerFailure[] }
  durationMs: number
}

export interface Memory {
  rss: number
  heapUsed: number
  sessions: number
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
} as const

/**
 * `hello.limits.maxPayload` values of the 'odd-limits' connections. Opted out: 1, 16, 64 and 200
 * bytes — DEFECT (kernel handshake, seed 11): the kernel accepts any maxPayload of at least one
 * byte, so a peer that announces one smaller than the server's own replies gets a session in which
 * nothing can be sent to it, not even the error that says so: its calls are never answered (and
 * reconnect's ack timer threw an uncaught E_PAYLOAD_TOO_LARGE every tick, fixed in counting.ts).
 * PROTOCOL.md should set a floor (e.g. 1 KiB) that the handshake enforces.
 */
const ODD_MAX_PAYLOADS: unknown[] = [0, -1, 1.5, Number.NaN, 2 ** 60, 1e9 + 0.5, '1000', null, true, [1024]]
export const OPTED_OUT_MAX_PAYLOADS = [1, 16, 64, 200]

interface WorkerState {
  /** The last session this worker's connections had, for a resume. */
  last: { sessionId: string; token: string; received: number } | undefined
}

interface Listening {
  url: string
  plugins: Record<string, number>
  protocol: number
  maxPayload: number
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by
}

function hexPrefix(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return `${bytes.subarray(0, 48).toString('hex')}${bytes.byteLength > 48 ? `…(${bytes.byteLength} bytes)` : ''}`
}

/** The server process and its watchdog state. */
class ServerProcess {
  readonly child: ChildProcess
  readonly failures: ServerFailure[] = []
  maxLagMs = 0
  peakRss = 0
  lastBeat = Date.now()
  stderr = ''
  #stopping = false
  #memory: ((memory: Memory) => void) | undefined
  readonly #recent: () => string[]
  readonly #stallMs: number

  /** Resolves once the server hung or died: every wait of the run gives up then. */
  readonly dead: Promise<void>
  #die: () => void = () => {}

  constructor(options: { maxPayload: number; graceMs: number; handshakeTimeoutMs: number }, stallMs: number, recent: () => string[]) {
    this.#stallMs = stallMs
    this.#recent = recent
    this.dead = new Promise((resolve) => (this.#die = resolve))
    this.child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', '--expose-gc', SERVER, JSON.stringify(options)], {
      cwd: WORKSPACE,
      env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    this.child.stdout!.on('data', () => {})
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-20_000)
    })
    this.child.on('message', (message: Record<string, unknown>) => {
      if (message.type === 'beat') {
        this.lastBeat = Date.now()
        const lag = message.lagMs as number
        this.maxLagMs = Math.max(this.maxLagMs, lag)
        this.peakRss = Math.max(this.peakRss, message.rss as number)
        if (lag > this.#stallMs) this.fail('stall', `the server's event loop stalled for ${lag} ms`)
      } else if (message.type === 'fatal') {
        this.fail(message.kind as ServerFailure['kind'], String(message.error))
      } else if (message.type === 'memory') {
        this.#memory?.(message as unknown as Memory)
      }
    })
    this.child.on('exit', (code, signal) => {
      if (!this.#stopping) this.fail('crash', `the server exited (code ${code}, signal ${signal}): ${this.stderr.slice(-3000)}`)
    })
  }

  fail(kind: ServerFailure['kind'], detail: string): void {
    if (this.failures.length < 20) this.failures.push({ kind, detail, recent: this.#recent() })
    if (kind === 'hang' || kind === 'crash') this.#die()
  }

  get isDead(): boolean {
    return this.failures.some((f) => f.kind === 'hang' || f.kind === 'crash')
  }

  listening(): Promise<Listening> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the fuzz server did not start: ${this.stderr}`)), 30_000)
      this.child.on('message', (message: Record<string, unknown>) => {
        if (message.type !== 'listening') return
        clearTimeout(timer)
        this.lastBeat = Date.now()
        resolve(message as unknown as Listening)
      })
      this.child.once('exit', () => reject(new Error(`the fuzz server exited before listening: ${this.stderr}`)))
    })
  }

  /** Memory after two full GCs in the server. */
  memory(): Promise<Memory> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the fuzz server did not report its memory within 10 s')), 10_000)
      this.#memory = (memory) => {
        clearTimeout(timer)
        resolve(memory)
      }
      this.child.send({ type: 'gc' })
    })
  }

  async stop(): Promise<void> {
    this.#stopping = true
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    if (this.isDead) this.child.kill('SIGKILL')
    else this.child.send({ type: 'stop' })
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
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
  const hang = setInterval(() => {
    if (Date.now() - server.lastBeat > 3000 && server.failures.every((f) => f.kind !== 'hang')) server.fail('hang', `no heartbeat from the server for ${Date.now() - server.lastBeat} ms`)
  }, 250)
  try {
    const listening = await server.listening()
    log(`server ${listening.url} (protocol ${listening.protocol}, plugins ${JSON.stringify(listening.plugins)})`)
    for (let i = 0; i < (options.goodClients ?? 3); i++) goods.push(await goodClient(listening.url, i, report.good, () => goodRunning))
    await sleep(500)
    report.server.before = await server.memory()
    if (options.sabotage) server.child.send({ type: 'sabotage', what: options.sabotage })

    const rng = new Rng(options.seed)
    const oddMaxPayloads = options.includeOptedOut ? [...ODD_MAX_PAYLOADS, ...OPTED_OUT_MAX_PAYLOADS] : ODD_MAX_PAYLOADS
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
          const limits = mode === 'odd-limits' ? connRng.pick([{ maxPayload: connRng.pick(oddMaxPayloads) }, {}, null, 'limits', [1]]) : { maxPayload: mode === 'small-reader' ? 2048 : 64 * 1024 * 1024 }
          const hello: Record<string, unknown> = { protocol: listening.protocol, codec: 'msgpack', plugins, limits }
          if (resuming) hello.resume = { sessionId: resuming.sessionId, token: resuming.token, received: connRng.chance(0.8) ? resuming.received : connRng.pick([0, -1, 2 ** 53, resuming.received + 1000, 1.5]) }
          ws.send(plainPackr.pack(['hello', null, null, hello]))
          report.framesSent++
          await until(-1, 5000)
          if (!welcomed) return
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
            while (!closed && ws.bufferedAmount > 1024 * 1024) await sleep(5)
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

const MiB = 1024 * 1024

/**
 * Bounds on the server's memory over the run's start: the heap after GC (hostile sessions gone:
 * ~2–3 MiB measured), and RSS at its peak (+110–135 MiB measured: slow consumers each hold up to
 * their 8 MiB outbound budget plus socket buffers, and RSS keeps what the allocator got). One
 * 2^25-element array bomb cost 256 MiB before the codec's scan; 100 of them tripled RSS.
 */
export const MEMORY_BOUNDS = { heapGrowth: 32 * MiB, peakRssGrowth: 320 * MiB }

/**
 * What went wrong, as lines (empty: the run passed): a server stall, hang, crash, uncaught
 * exception or unhandled rejection; a good call that failed or a tick it missed; a hostile
 * session that stopped answering; memory that grew beyond MEMORY_BOUNDS; sessions left behind.
 */
export function problems(report: FuzzReport): string[] {
  const out: string[] = []
  for (const failure of report.server.failures) out.push(`server ${failure.kind}: ${failure.detail.slice(0, 500)}\n  last cases: ${failure.recent.slice(-10).join('\n    ')}`)
  if (report.good.failed > 0) out.push(`${report.good.failed} good calls failed: ${report.good.failures.join('; ')}`)
  if (report.good.tickGaps > 0) out.push(`good clients missed broadcast ticks (${report.good.tickGaps} gaps)`)
  if (report.probes.unanswered > 0) out.push(`${report.probes.unanswered} hostile sessions stopped answering (probe call unanswered, session not closed), by connection mode: ${JSON.stringify(report.probes.unansweredModes)}`)
  const { before, after } = report.server
  if (after.heapUsed === 0) out.push('no memory reading after the run')
  else {
    if (after.heapUsed - before.heapUsed > MEMORY_BOUNDS.heapGrowth) out.push(`server heap after GC grew by ${((after.heapUsed - before.heapUsed) / MiB).toFixed(1)} MiB (bound ${MEMORY_BOUNDS.heapGrowth / MiB})`)
    if (after.sessions > before.sessions) out.push(`${after.sessions - before.sessions} sessions left on the server after every hostile connection closed and the grace period passed`)
  }
  if (report.server.peakRss - before.rss > MEMORY_BOUNDS.peakRssGrowth) out.push(`server RSS peaked ${((report.server.peakRss - before.rss) / MiB).toFixed(1)} MiB above its start (bound ${MEMORY_BOUNDS.peakRssGrowth / MiB})`)
  return out
}

/** The report as the lines the script prints. */
export function formatReport(report: FuzzReport): string {
  const sorted = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none'
  const mem = (m: Memory) => `RSS ${(m.rss / MiB).toFixed(1)} MiB, heap ${(m.heapUsed / MiB).toFixed(1)} MiB, ${m.sessions} sessions`
  return [
    `seed ${report.seed}: ${report.framesSent} frames sent over ${report.connections} connections (${report.refusedConnections} refused) in ${(report.durationMs / 1000).toFixed(1)} s`,
    `connection modes: ${sorted(report.modes)}`,
    `cases: ${sorted(report.cases)}`,
    `error frames by code: ${sorted(report.errorFrames)}`,
    `plugin error replies: ${sorted(report.pluginErrors)}`,
    `closes by the server, by code: ${sorted(report.serverCloses)}`,
    `probe calls after each burst: ${report.probes.answered} answered, ${report.probes.closed} closed meanwhile, ${report.probes.unanswered} unanswered`,
    `good clients: ${report.good.ok} calls ok, ${report.good.failed} failed; ${report.good.ticks} ticks, ${report.good.tickGaps} gaps${report.good.failures.length ? `\n  ${report.good.failures.join('\n  ')}` : ''}`,
    `server: max event-loop lag ${report.server.maxLagMs} ms, peak RSS ${(report.server.peakRss / MiB).toFixed(1)} MiB`,
    `server memory after GC: before ${mem(report.server.before)}; after ${mem(report.server.after)}`,
    ...report.server.failures.map((f) => `SERVER ${f.kind}: ${f.detail}\n  last cases:\n    ${f.recent.join('\n    ')}`),
  ].join('\n')
}
