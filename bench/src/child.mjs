/**
 * Spawning the measured processes: plain node (echostream's packages from their built `dist/`:
 * the runner runs `tsc -b` first), pinned to a core with taskset when pinning is on, with the
 * open-file limit raised when a workload needs many sockets, talking over IPC.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import os from 'node:os'

export const benchDir = fileURLToPath(new URL('..', import.meta.url))

/** The cores this process may run on (its affinity), e.g. [0, 1]. */
function allowedCpus() {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1]
    if (line) {
      return line.split(',').flatMap((part) => {
        const [a, b] = part.split('-').map(Number)
        return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i)
      })
    }
  } catch {}
  return os.cpus().map((_, i) => i)
}

/** Pinning plan: server on the first allowed core, client on the second; null when not possible. */
export function pinningPlan() {
  const cpus = allowedCpus()
  const taskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0
  if (!taskset) return { enabled: false, why: 'taskset not found', cpus }
  if (cpus.length < 2) return { enabled: false, why: `only ${cpus.length} core available`, cpus }
  return { enabled: true, server: cpus[0], client: cpus[1], cpus }
}

/** How each peer reaches `ws`: a chain of packages, each resolved from the previous one. */
const wsChains = {
  limit: ['ws'],
  echostream: ['@echostream/preset-default', '@echostream/plugin-transport-ws', 'ws'],
  // echostream-tcp has no ws: transport-tcp is node:net only.
  'socket.io (server)': ['socket.io', 'engine.io', 'ws'],
  'socket.io (client)': ['socket.io-client', 'engine.io-client', 'ws'],
  'rpc-websockets': ['rpc-websockets', 'ws'],
}

/** The folder of package `name` as node would find it from `dir` (node_modules lookup, symlinks followed). */
function packageDir(name, dir) {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate)
    if (dirname(d) === d) throw new Error(`cannot find ${name} from ${dir}`)
  }
}

function resolveChain(chain) {
  let dir = benchDir
  for (const name of chain) dir = packageDir(name, dir)
  return join(dir, 'package.json')
}

/**
 * ws masks and validates frames with the optional native addons `bufferutil`/`utf-8-validate` when
 * it can resolve them (5× faster masking of 64 KiB chunks). Every peer must run the same code: if
 * any peer's ws cannot see them, all run ws's JavaScript fallback.
 */
export function wsNativeCheck(force) {
  const seen = {}
  for (const [peer, chain] of Object.entries(wsChains)) {
    try {
      const wsPkg = resolveChain(chain)
      let native = true
      for (const addon of ['bufferutil', 'utf-8-validate']) {
        try {
          createRequire(wsPkg).resolve(addon)
        } catch {
          native = false
        }
      }
      seen[peer] = { ws: JSON.parse(readFileSync(wsPkg, 'utf8')).version, native }
    } catch (error) {
      seen[peer] = { error: error.message.split('\n')[0] }
    }
  }
  const all = Object.values(seen).every((s) => s.native)
  const useNative = force === 'js' ? false : all
  return { useNative, why: force === 'js' ? '--js-ws' : all ? 'every peer resolves bufferutil + utf-8-validate' : 'some peer lacks them', peers: seen }
}

const childEnv = {
  // The children run the built packages (dist/): never the sources' `development` condition.
  ECHOSTREAM_CONDITIONS: '',
  NODE_ENV: 'production',
}

/** The open-file limits (soft, hard) children inherit; `null` when the shell cannot say. */
export function fileLimits() {
  const r = spawnSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' })
  if (r.status !== 0) return null
  const [soft, hard] = r.stdout.trim().split(/\s+/).map((v) => (v === 'unlimited' ? Infinity : Number(v)))
  return Number.isFinite(soft) || soft === Infinity ? { soft, hard } : null
}

/** Called once by the runner with the outcome of `wsNativeCheck`. */
export function setWsNative(useNative) {
  if (useNative) return
  childEnv.WS_NO_BUFFER_UTIL = '1'
  childEnv.WS_NO_UTF_8_VALIDATE = '1'
}

/**
 * `BENCH_NODE_FLAGS='--trace-gc'` (space-separated) adds node flags to every child, servers and
 * clients of every peer alike: a diagnostic (GC traces, --perf-basic-prof), never for a run quoted.
 */
const extraNodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)

export class Child {
  #proc
  #inbox = []
  #waiters = []
  #exit
  label

  /**
   * @param script file in src/
   * @param spec   passed as BENCH_SPEC
   * @param opts   { cpu: number|null, nodeFlags: string[], label, nofile?: number (raise the open-file soft limit to this) }
   */
  constructor(script, spec, { cpu, nodeFlags = [], label, nofile }) {
    this.label = label
    const nodeArgs = [...nodeFlags, ...extraNodeFlags, fileURLToPath(new URL(script, import.meta.url))]
    let [cmd, args] = cpu === null || cpu === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(cpu), process.execPath, ...nodeArgs]]
    // `ulimit -n` in a shell that then becomes the child (exec): the pid stays the node process's.
    if (nofile) [cmd, args] = ['sh', ['-c', `ulimit -n ${nofile} && exec "$@"`, 'sh', cmd, ...args]]
    this.#proc = spawn(cmd, args, {
      cwd: benchDir,
      // Children's output goes to our stderr: stdout is the table.
      stdio: ['ignore', 2, 2, 'ipc'],
      env: { ...process.env, ...childEnv, BENCH_SPEC: JSON.stringify(spec) },
    })
    this.#exit = new Promise((resolve) => this.#proc.once('exit', (code, signal) => resolve({ code, signal })))
    this.#proc.on('message', (msg) => this.#deliver(msg))
    this.#exit.then(({ code, signal }) => this.#deliver({ type: 'exit', code, signal }))
  }

  get pid() {
    return this.#proc.pid
  }

  /** Moves every thread of the child to `cpu` (no-op when `cpu` is null). */
  repin(cpu) {
    if (cpu === null || cpu === undefined) return
    const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(this.#proc.pid)], { stdio: 'ignore' })
    if (r.status !== 0) throw new Error(`${this.label}: taskset -a -p -c ${cpu} ${this.#proc.pid} failed`)
  }

  #handlers = new Map()

  /** Calls `fn(msg)` for every message of `type` from now on (instead of queueing them). */
  on(type, fn) {
    if (fn) this.#handlers.set(type, fn)
    else this.#handlers.delete(type)
  }

  #deliver(msg) {
    const handler = this.#handlers.get(msg.type)
    if (handler) return handler(msg)
    const i = this.#waiters.findIndex((w) => w.type === msg.type || msg.type === 'error' || msg.type === 'exit')
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1)
      clearTimeout(w.timer)
      if (msg.type === w.type) w.resolve(msg)
      else w.reject(new Error(`${this.label}: ${msg.type === 'error' ? msg.message : `exited (code ${msg.code}, signal ${msg.signal}) while waiting for '${w.type}'`}`))
    } else this.#inbox.push(msg)
  }

  /** Waits for a message of `type` (or fails on the child's error/exit, or after `timeoutMs`). */
  waitFor(type, timeoutMs) {
    const i = this.#inbox.findIndex((m) => m.type === type || m.type === 'error')
    if (i >= 0) {
      const [msg] = this.#inbox.splice(i, 1)
      return msg.type === 'error' ? Promise.reject(new Error(`${this.label}: ${msg.message}`)) : Promise.resolve(msg)
    }
    if (this.#inbox.some((m) => m.type === 'exit')) return Promise.reject(new Error(`${this.label}: exited before '${type}'`))
    return new Promise((resolve, reject) => {
      const w = { type, resolve, reject }
      w.timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        reject(new Error(`${this.label}: no '${type}' within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.push(w)
    })
  }

  send(msg) {
    if (this.#proc.connected) this.#proc.send(msg)
  }

  async request(msg, replyType, timeoutMs) {
    const reply = this.waitFor(replyType, timeoutMs)
    this.send(msg)
    return reply
  }

  /** Asks the child to stop (if `stopMessage`), waits up to `graceMs`, then kills this one process. */
  async stop(stopMessage, graceMs = 5000) {
    if (stopMessage) this.send(stopMessage)
    const exited = await Promise.race([this.#exit.then(() => true), new Promise((r) => setTimeout(() => r(false), graceMs))])
    if (!exited) {
      this.#proc.kill('SIGKILL')
      await this.#exit
    }
  }
}
