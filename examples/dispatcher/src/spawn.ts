/**
 * Worker processes for the demo and the tests: `node --import tsx worker-main.ts` with flags,
 * waiting for its `ready` line. `kill()` is SIGKILL (no goodbye, no clean close: a crash).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const WORKER_MAIN = join(here, '..', 'worker-main.ts')

export interface WorkerProcess {
  readonly id: string
  readonly url: string
  readonly child: ChildProcess
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>
  /** stderr so far (for a failure message). */
  stderr(): string
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** A free TCP port on 127.0.0.1 (so a worker can restart on the same URL). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export function spawnWorker(args: string[], options: { timeoutMs?: number; onLine?: (line: string) => void } = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', WORKER_MAIN, ...args], {
    cwd: join(here, '..'),
    env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    let buffer = ''
    let ready = false
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`worker ${args.join(' ')} did not start within ${options.timeoutMs ?? 30_000} ms\n${stderr}`))
    }, options.timeoutMs ?? 30_000)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        options.onLine?.(line)
        if (ready || !line.startsWith('{')) continue
        const parsed = JSON.parse(line) as { event: string; id: string; url: string }
        if (parsed.event !== 'ready') continue
        ready = true
        clearTimeout(timer)
        resolve({
          id: parsed.id,
          url: parsed.url,
          child,
          exited,
          stderr: () => stderr,
          async kill(signal = 'SIGKILL') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal)
            await exited
          },
        })
      }
    })
    child.once('exit', (code, signal) => {
      if (ready) return
      clearTimeout(timer)
      reject(new Error(`worker ${args.join(' ')} exited (${code ?? signal}) before it was ready\n${stderr}`))
    })
  })
}
