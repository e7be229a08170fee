/**
 * A real `redis-server` for a test: on a free loopback port, persistence off, stopped in teardown.
 * `kill()` and `restart()` (same port, empty: no persistence) simulate a broker crash.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { onCleanup } from './fixtures.js'

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface RedisProcess {
  port: number
  url: string
  kill(): Promise<void>
  restart(): Promise<void>
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}: ${output}`)), 10_000)
    const onData = (chunk: Buffer) => {
      output += chunk
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}: ${output}`))
    })
  })
  child.stdout!.resume()
  child.stderr!.resume()
  return child
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill(signal)
  })
}

export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort()
  let child = await launch(port)
  onCleanup(() => stop(child, 'SIGKILL'))
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => stop(child, 'SIGKILL'),
    async restart() {
      await stop(child, 'SIGKILL')
      child = await launch(port)
    },
  }
}
