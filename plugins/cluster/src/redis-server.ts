/**
 * A local `redis-server` child process for development, demos and tests
 * (`@echostream/plugin-cluster/redis-server`): the binary on PATH, bound to 127.0.0.1 on a free
 * port, ready when it logs "Ready to accept connections" (about 30 ms here). Not for production:
 * run Redis as a service there and pass its URL. A separate entry so the plugin itself never loads
 * `node:child_process`.
 *
 * Written once because three places started Redis the same way: the workspace's cluster tests,
 * the chat example's `pnpm start` and the cluster-3-nodes demo.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { clusterErrors } from './errors.js'

export interface RedisServerOptions {
  /** The port, 1–65535 (redis-server's port 0 would turn TCP off); default: a free loopback port. Pass a stopped server's port to start it again on the same URL. */
  port?: number
  /** Keep the data in this folder as an append-only file, fsynced on every write (what Redis acknowledged survives a restart of Redis). Default: no persistence at all. */
  dir?: string
  /** How long to wait for the server to be ready, ms; default 10 000. */
  timeoutMs?: number
  /** The binary; default `redis-server` on PATH. */
  command?: string
}

export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>`: the cluster plugin's `redisUrl`. */
  readonly url: string
  readonly child: ChildProcess
  /** Stops it (default SIGTERM; SIGKILL simulates a crash) and resolves once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

const READY = 'Ready to accept connections'
/** Startup output kept for an error message. */
const MAX_OUTPUT = 4096

/** A port nobody listens on right now, on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function exitedOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Starts `redis-server` and resolves once it accepts connections. Fails with E_INVALID_ARGUMENT, E_CONFIG (not installed, exited) or E_TIMEOUT. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const { dir, timeoutMs = 10_000, command = 'redis-server' } = options
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65535)) {
    throw clusterErrors.invalidArgument(`startRedisServer: port must be an integer from 1 to 65535 (got ${String(options.port)}); leave it out for a free port.`)
  }
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw clusterErrors.invalidArgument(`startRedisServer: timeoutMs must be a positive number of ms (got ${String(timeoutMs)}).`)
  const port = options.port ?? (await freePort())
  const persistence = dir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]
  const child = spawn(command, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = exitedOf(child)
  let output = ''
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(clusterErrors.redisServerTimeout(command, port, timeoutMs, output)), timeoutMs)
      const onData = (chunk: Buffer) => {
        if (output.length < MAX_OUTPUT) output += chunk
        if (output.includes(READY)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(clusterErrors.redisServerFailed(command, error.message, output, error))
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(clusterErrors.redisServerFailed(command, `it exited (${code ?? signal}) before it was ready`, output))
      })
    })
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    throw error
  }
  // Ready: from here on its output only has to be drained, not kept.
  child.stdout!.removeAllListeners('data').resume()
  child.stderr!.removeAllListeners('data').resume()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    child,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}
