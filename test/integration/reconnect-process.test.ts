/**
 * Reconnect against a real server process: SIGKILL it, restart it on the same port, and check
 * what REALTIME.md promises — reconnect within the backoff bound, offline events once and in order,
 * RPCs written before the kill fail with E_CLOSED, RPCs made offline are answered by the new server.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { EchoError } from '@echostream/kernel'
import { createClient } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import reconnect from '@echostream/plugin-reconnect'
import { onCleanup, sleep, track, until } from '../helpers/fixtures.js'

const here = dirname(fileURLToPath(import.meta.url))
const WORKSPACE = join(here, '..', '..')
const SCRIPT = join(here, '..', 'helpers', 'reconnect-server.ts')

interface ServerProcess {
  child: ChildProcess
  url: string
  got: number[]
}

async function startServer(port: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', SCRIPT, String(port)], {
    cwd: WORKSPACE,
    env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onCleanup(() => child.kill('SIGKILL'))
  const got: number[] = []
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 20_000)
    child.stdout!.on('data', (chunk) => {
      buffer += chunk
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        const listening = line.match(/^listening (\S+)/)
        if (listening) {
          clearTimeout(timer)
          resolve(listening[1]!)
        }
        const n = line.match(/^got (\d+)/)
        if (n) got.push(Number(n[1]))
      }
    })
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)))
  })
  return { child, url, got }
}

function kill(server: ServerProcess): Promise<void> {
  return new Promise((resolve) => {
    server.child.once('exit', () => resolve())
    server.child.kill('SIGKILL')
  })
}

const backoff = { initialDelayMs: 100, maxDelayMs: 400, factor: 2, jitter: 0.5 }

describe('reconnect across a server crash (real processes)', () => {
  it('reconnects after SIGKILL + restart; offline events arrive once and in order; RPCs follow the rules', async () => {
    const first = await startServer(0)
    const port = Number(new URL(first.url).port)
    const client = track(await createClient({ url: first.url, plugins: [transportWs, codecMsgpack, rpc, events, [reconnect, backoff]] }))
    const reconnected: Array<Record<string, unknown>> = []
    client.reconnect.on('reconnected', (e) => reconnected.push(e))
    await client.start()

    for (let n = 1; n <= 5; n++) client.events.emit('n', n)
    await until(() => first.got.length === 5, 10_000, 'first server got 1..5')
    expect(await client.rpc.request('echo', 'before')).toBe('before')

    // Written to the old server, never answered: must fail with E_CLOSED once the session is not recovered.
    const written = client.rpc.request('slow', null, { timeoutMs: 30_000 })
    written.catch(() => {})
    await sleep(100)

    await kill(first)
    await until(() => client.session!.state === 'suspended', 5000, 'client notices the crash')
    // While offline: events and an RPC are queued.
    for (let n = 6; n <= 10; n++) client.events.emit('n', n)
    const offlineCall = client.rpc.request('echo', 'offline', { timeoutMs: 30_000 })

    const second = await startServer(port)
    const restartedAt = Date.now()
    await until(() => reconnected.length === 1, 15_000, 'reconnected')
    const tookMs = Date.now() - restartedAt
    // Every attempt waits at most maxDelayMs · (1 + jitter); one such wait plus a handshake.
    expect(tookMs).toBeLessThan(backoff.maxDelayMs * (1 + backoff.jitter) + 2000)
    expect(reconnected[0]).toMatchObject({ recovered: false })

    await expect(written).rejects.toMatchObject({ code: 'E_CLOSED' })
    expect(await offlineCall).toBe('offline')
    for (let n = 11; n <= 15; n++) client.events.emit('n', n)
    await until(() => second.got.length >= 10, 10_000, 'second server got 6..15')
    await sleep(200)
    expect(second.got).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
    expect(first.got).toEqual([1, 2, 3, 4, 5])
    const error = await written.catch((e: unknown) => e)
    expect(EchoError.is(error)).toBe(true)
  })
})
