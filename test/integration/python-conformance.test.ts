/**
 * Cross-language conformance (issue 11, must-show 6): a Python client written only from
 * kernel/PROTOCOL.md (test/conformance/peer.py, Debian python3-websockets + python3-msgpack) runs
 * against a real server on the realtime preset with reconnect: handshake refusals (a v1 hello gets
 * E_INCOMPATIBLE and 4001), RPC both ways with errors and cancel, events, a stream each way with
 * binary and map payloads under flow control, clock sync, reconnect's frame counting, and a clean
 * close (1000 → the server's disconnect at once). The peer prints one line per check; each check
 * is one assertion here, and the server's own view is asserted beside them.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createServer, definePlugin, EchoError, type CloseInfo, type Session } from '@echostream/kernel'
import realtime from '@echostream/preset-realtime'
import reconnect from '@echostream/plugin-reconnect'
import type { StreamReader } from '@echostream/plugin-streams'
import { WORKSPACE } from '../helpers/wire.js'

const PYTHON = '/usr/bin/python3'
const PEER = join(WORKSPACE, 'test/conformance/peer.py')
/** The server's clock runs this far ahead: the peer must measure it through clock-sync. */
const OFFSET_MS = 5000

/** Every line the peer prints, in order: one per check. */
const CHECKS = [
  'refuse-v1-hello',
  'refuse-garbage',
  'refuse-not-a-frame',
  'refuse-first-not-hello',
  'refuse-malformed-hello',
  'refuse-plugin-mismatch',
  'handshake-timeout',
  'oversize-message',
  'handshake',
  'heartbeat',
  'unknown-kind',
  'rpc-call',
  'rpc-errors',
  'rpc-numbers',
  'rpc-cancel',
  'rpc-server-to-client',
  'rpc-server-timeout-cancel',
  'events',
  'events-broadcast',
  'clock-sync',
  'stream-upload',
  'stream-walltime',
  'stream-download',
  'reconnect-counting',
  'close',
] as const

interface Run {
  code: number | null
  lines: Map<string, { ok: boolean; detail: string }>
  stdout: string
  stderr: string
}

/** What the server saw, for the assertions beside the peer's own. */
const seen = {
  disconnects: [] as Array<{ id: string; info: CloseInfo; at: number }>,
  suspended: [] as string[],
  refusals: [] as EchoError[],
  upload: { done: false, items: 0, maps: 0, seqsInOrder: true, meta: undefined as unknown, error: null as string | null, hash: createHash('sha256') },
  slowAborted: 0,
}

/** Taps the server's session hooks: the app broadcasts `left` from here (the peer's close check). */
function observer(onDisconnect: (session: Session, info: CloseInfo) => void) {
  return definePlugin({
    name: 'conformance-observer',
    version: '1.0.0',
    kernel: '^1',
    requires: ['transport', 'codec'],
    setup(kernel) {
      kernel.hooks.disconnect.tap('conformance-observer', (session, info) => onDisconnect(session, info))
      kernel.hooks.protocolError.tap('conformance-observer', (error) => void seen.refusals.push(error))
    },
  })
}

type Server = Awaited<ReturnType<typeof createServer>>

async function startServer(): Promise<Server> {
  let server: Server | undefined
  const created = await createServer({
    preset: realtime,
    plugins: [
      [reconnect, { graceMs: 60_000 }],
      observer((session, info) => {
        seen.disconnects.push({ id: session.id, info, at: performance.now() })
        server?.events.broadcast('left', { sessionId: session.id, code: info.code })
      }),
    ],
    // A peer that sends no hello is refused after 1 s (the peer's handshake-timeout check).
    handshakeTimeoutMs: 1000,
    options: {
      'transport-ws': { host: '127.0.0.1', port: 0, maxPayload: 262_144 },
      // Small windows, so both directions of the streams wait for credit.
      streams: { streamWindow: 4096, connectionWindow: 8192 },
      'clock-sync': { localOffsetMs: OFFSET_MS },
    },
  })
  server = created
  server.reconnect.on('suspended', (event) => void seen.suspended.push((event as { session: Session }).session.id))

  server.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => a + b)
  server.rpc.handle('math.divide', ({ a, b }: { a: number; b: number }) => {
    if (b === 0) throw new EchoError('E_DIVIDE_BY_ZERO', 'Cannot divide by zero: pass a non-zero b.', { data: { a } })
    return a / b
  })
  server.rpc.handle('echo', (params: unknown) => params)
  server.rpc.handle('slow', ({ tag }: { tag: string }, ctx) => {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve('too late'), 10_000)
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        seen.slowAborted++
        ctx.session.emit('slow.aborted', { tag })
        resolve('aborted')
      })
    })
  })
  server.rpc.handle('callMe', async (_params: unknown, ctx) => {
    const sum = await ctx.session.request('py.add', { a: 2, b: 3 })
    const failure = await ctx.session.request('py.fail').then(
      () => undefined,
      (error: EchoError) => error,
    )
    const hang = await ctx.session.request('py.hang', null, { timeoutMs: 300 }).then(
      () => undefined,
      (error: EchoError) => error,
    )
    return { sum, failCode: failure?.code, failData: failure?.data, hangCode: hang?.code }
  })
  server.rpc.handle('uploadResult', () => {
    const u = seen.upload
    return { done: u.done, items: u.items, bytesHash: u.hash.copy().digest('hex'), maps: u.maps, seqsInOrder: u.seqsInOrder, meta: u.meta, error: u.error }
  })
  server.rpc.handle('startDownload', ({ items }: { items: number }, ctx) => {
    void (async () => {
      const writer = await ctx.session.openStream('download', { items })
      for (let i = 0; i < items; i++) {
        if (i % 2 === 0) await writer.write(Buffer.from(Array.from({ length: 1500 }, (_, j) => (i * 7 + j) % 256)))
        else await writer.write({ i, text: `item ${i}`, list: [i, 'x', null] })
      }
      await writer.end()
    })().catch((error) => console.error('download failed', error))
    return 'started'
  })

  server.events.on('py.event', (data: unknown, session: Session) => session.emit('server.echo', data))
  server.events.on('py.broadcast', (data: unknown) => void server!.events.broadcast('all.tick', data))

  server.streams.handle('upload', async (stream: StreamReader<unknown>, ctx) => {
    const u = seen.upload
    u.meta = ctx.meta
    try {
      for await (const frame of stream) {
        if (frame.seq !== u.items) u.seqsInOrder = false
        u.items++
        if (Buffer.isBuffer(frame.data) || frame.data instanceof Uint8Array) u.hash.update(frame.data)
        else if ((frame.data as { i?: number }).i === frame.seq) u.maps++
      }
    } catch (error) {
      u.error = (error as EchoError).code ?? String(error)
    }
    u.done = true
  })
  await server.start()
  return server
}

function runPeer(url: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-B', PEER, url, '--offset-ms', String(OFFSET_MS)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const lines = new Map<string, { ok: boolean; detail: string }>()
      for (const line of stdout.split('\n')) {
        const match = /^(ok|FAIL) ([\w-]+): (.*)$/.exec(line)
        if (match) lines.set(match[2]!, { ok: match[1] === 'ok', detail: match[3]! })
      }
      resolve({ code, lines, stdout, stderr })
    })
  })
}

// No skip when Python is missing: .ci/run installs it, and a conformance test that quietly does not
// run proves nothing. The peer's stderr (an ImportError…) is in the failure message.
describe('a Python client written from PROTOCOL.md', () => {
  let run: Run
  let closedAt = 0

  beforeAll(async () => {
    const server = await startServer()
    try {
      run = await runPeer(server.url!)
      closedAt = performance.now()
    } finally {
      await server.stop()
    }
    if (run.stderr.trim()) console.error(run.stderr)
  }, 60_000)

  it.each(CHECKS)('%s', (check) => {
    const line = run.lines.get(check)
    expect(line, `the peer printed no line for '${check}':\n${run.stdout}\n${run.stderr}`).toBeDefined()
    expect(line!.ok, `${check}: ${line!.detail}`).toBe(true)
  })

  it('the peer ran every check and exited 0', () => {
    expect([...run.lines.keys()].sort()).toEqual([...CHECKS].sort())
    expect(run.stdout).toMatch(new RegExp(`summary: ${CHECKS.length} ok, 0 failed`))
    expect(run.code).toBe(0)
  })

  it("the server's view: refusals typed, the upload exact, the cancel reached the handler, the close ended the session at once", () => {
    const codes = seen.refusals.map((e) => e.code)
    expect(codes).toEqual(expect.arrayContaining(['E_INCOMPATIBLE', 'E_CODEC', 'E_PROTOCOL']))
    expect(seen.upload).toMatchObject({ done: true, items: 48, maps: 24, seqsInOrder: true, error: null })
    expect(seen.slowAborted).toBe(1)
    // The main session (the last to end before stop) closed with 1000 and was never suspended.
    const main = seen.disconnects.find((d) => d.info.code === 1000)
    expect(main).toBeDefined()
    expect(seen.suspended).not.toContain(main!.id)
    expect(main!.at).toBeLessThanOrEqual(closedAt)
  })
})
