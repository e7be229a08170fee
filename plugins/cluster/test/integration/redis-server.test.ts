/**
 * `startRedisServer` against the real `redis-server` on PATH: it answers on its URL, `stop()`
 * frees the port, `dir` keeps what was written through a SIGKILL, and each way it can fail is a
 * coded error (no binary, one that exits, one that never gets ready, a bad port).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EchoError } from '@echostream/kernel'
import { afterAll, describe, expect, it } from 'vitest'
import { startRedisServer, type RedisServer } from '../../src/redis-server.js'

const started: RedisServer[] = []
const dirs: string[] = []
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop('SIGKILL')))
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'echostream-redis-'))
  dirs.push(dir)
  return dir
}

/** Sends RESP commands on a fresh connection and resolves with the raw reply once it matches `until`. */
function send(port: number, commands: string[][], until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no reply matching ${until} (got ${JSON.stringify(reply)})`))), 5000)
    socket.on('error', (error) => (clearTimeout(timer), reject(error)))
    socket.on('data', (chunk) => {
      reply += chunk
      if (until.test(reply)) {
        clearTimeout(timer)
        socket.end()
        resolve(reply)
      }
    })
    socket.write(commands.map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join(''))
  })
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.on('connect', () => (socket.destroy(), resolve(false)))
    socket.on('error', () => resolve(true))
  })

async function failure(promise: Promise<unknown>): Promise<EchoError> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(EchoError)
  return error as EchoError
}

describe('startRedisServer', () => {
  it('answers on its URL; stop() resolves once it exited and the port is free', async () => {
    const redis = await startRedisServer()
    started.push(redis)
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
    expect(await send(redis.port, [['PING']], /\r\n$/)).toBe('+PONG\r\n')
    // Persistence off: no append-only file.
    expect(await send(redis.port, [['CONFIG', 'GET', 'appendonly']], /no\r\n$/)).toContain('no')
    await redis.stop()
    expect(redis.child.exitCode !== null || redis.child.signalCode !== null).toBe(true)
    expect(await refused(redis.port)).toBe(true)
  })

  it('with `dir`, what it acknowledged survives a SIGKILL and a start on the same port', async () => {
    const dir = tempDir()
    const first = await startRedisServer({ dir })
    started.push(first)
    expect(await send(first.port, [['SET', 'k', 'kept']], /\r\n$/)).toBe('+OK\r\n')
    await first.stop('SIGKILL')
    const second = await startRedisServer({ dir, port: first.port })
    started.push(second)
    expect(second.url).toBe(first.url)
    expect(await send(second.port, [['GET', 'k']], /kept\r\n$/)).toBe('$4\r\nkept\r\n')
  })

  it('no such binary: E_CONFIG saying what to install', async () => {
    const error = await failure(startRedisServer({ command: 'echostream-no-such-redis-server' }))
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toMatch(/did not start: .*ENOENT/)
    expect(error.message).toMatch(/apt-get install redis-server/)
  })

  it('a binary that exits before it is ready: E_CONFIG with its exit code and output', async () => {
    const dir = tempDir()
    const script = join(dir, 'exits.sh')
    writeFileSync(script, '#!/bin/sh\necho "bad config line"\nexit 3\n')
    chmodSync(script, 0o755)
    const error = await failure(startRedisServer({ command: script }))
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toMatch(/exited \(3\) before it was ready/)
    expect(error.message).toMatch(/bad config line/)
  })

  it('one that never gets ready: E_TIMEOUT (retryable) after timeoutMs, and the process is killed', async () => {
    const dir = tempDir()
    const pidFile = join(dir, 'pid')
    const script = join(dir, 'hangs.sh')
    writeFileSync(script, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 60\n`)
    chmodSync(script, 0o755)
    const error = await failure(startRedisServer({ command: script, timeoutMs: 500 }))
    expect(error.code).toBe('E_TIMEOUT')
    expect(error.retryable).toBe(true)
    expect(error.message).toMatch(/not ready within 500 ms/)
    const pid = Number(readFileSync(pidFile, 'utf8'))
    const alive = () => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    await expect.poll(alive, { timeout: 5000 }).toBe(false)
  })

  it('a bad port or timeout: E_INVALID_ARGUMENT before anything starts', async () => {
    for (const port of [0, -1, 65536, 1.5, Number.NaN]) expect((await failure(startRedisServer({ port }))).code).toBe('E_INVALID_ARGUMENT')
    expect((await failure(startRedisServer({ timeoutMs: 0 }))).code).toBe('E_INVALID_ARGUMENT')
  })
})
