/**
 * The fuzz server as a child process (fuzz-server.ts) and its watchdog: heartbeats with the
 * event-loop lag (a stall), no heartbeat at all (a hang), an unexpected exit (a crash), uncaught
 * exceptions and unhandled rejections reported over IPC, memory after GC on request.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Memory, ServerFailure } from './fuzz-report.js'

const here = dirname(fileURLToPath(import.meta.url))
const WORKSPACE = join(here, '..', '..')
const SERVER = join(here, 'fuzz-server.ts')

export interface Listening {
  url: string
  plugins: Record<string, number>
  protocol: number
  maxPayload: number
}

/** The server process and its watchdog state. */
export class ServerProcess {
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
