/**
 * The logging seam (src/logger.ts): the application's logger until a plugin installs one with
 * `useLogger`, removed with its owner; `kernel.logger` is one stable object that follows the
 * switch; per-session loggers bind `session` and `peer`; a throwing logger never throws into the
 * kernel; the kernel's own lines (connected, closed, refused) carry their fields. Fast, on the
 * in-memory wire; the pino end of it is test/integration/observability.test.ts over sockets.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createKernel, type EchoKernel } from '../../src/kernel.js'
import { definePlugin } from '../../src/plugin.js'
import { EchoError } from '../../src/errors.js'
import type { LogFields, Logger } from '../../src/logger.js'
import type { Session } from '../../src/session.js'
import { jsonCodecPlugin, memoryNetwork } from './memory-wire.js'

type Line = [level: string, message: string, fields?: LogFields]

function recorder(lines: Line[], tag = ''): Logger {
  const at = (level: string) => (message: string, fields?: LogFields) => void lines.push(fields === undefined ? [tag + level, message] : [tag + level, message, fields])
  return { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') }
}

const kernels: EchoKernel[] = []
afterEach(async () => {
  for (const k of kernels.splice(0).reverse()) await k.stop().catch(() => {})
})

describe('logging seam', () => {
  it("routes kernel.logger to a plugin's logger while it is loaded, and back to the app's after unload", async () => {
    const app: Line[] = []
    const plugin: Line[] = []
    const kernel = await createKernel({ role: 'server', logger: recorder(app), plugins: [] })
    kernels.push(kernel)
    const captured = kernel.logger // what rpc or auth keep from setup
    captured.info('before')
    await kernel.load(
      definePlugin({
        name: 'pino-like',
        version: '1.0.0',
        kernel: '^1',
        setup(k) {
          k.useLogger({ ...recorder(plugin), forSession: (s: Session) => recorder(plugin, `${s.id}:`) })
        },
      }),
    )
    captured.warn('during', { n: 1 })
    captured.debug('detail')
    await kernel.unload('pino-like')
    captured.error('after')
    expect(app).toEqual([['info', 'before'], ['error', 'after']])
    expect(plugin).toEqual([['warn', 'during', { n: 1 }], ['debug', 'detail']])
  })

  it('the returned function removes a logger; the last one installed wins', async () => {
    const a: Line[] = []
    const b: Line[] = []
    const kernel = await createKernel({ role: 'client', plugins: [] })
    kernels.push(kernel)
    const offA = kernel.useLogger(recorder(a))
    const offB = kernel.useLogger(recorder(b))
    kernel.logger.info('one')
    offB()
    kernel.logger.info('two')
    offA()
    kernel.logger.info('three') // silent: no app logger
    expect(b).toEqual([['info', 'one']])
    expect(a).toEqual([['info', 'two']])
  })

  it('a throwing logger never throws into the kernel; debug is optional', async () => {
    const boom = () => {
      throw new Error('logger broke')
    }
    const kernel = await createKernel({ role: 'client', logger: { info: boom, warn: boom, error: boom }, plugins: [] })
    kernels.push(kernel)
    expect(() => kernel.logger.info('x')).not.toThrow()
    expect(() => kernel.logger.debug('x')).not.toThrow()
    kernel.useLogger({ info: boom, warn: boom, error: boom, forSession: boom as never })
    expect(() => kernel.logger.forSession({ id: 's', peer: 'p' } as Session).warn('x')).not.toThrow()
  })

  it("logs the kernel's own lines: connected and closed with session and peer; a refusal at warn with code and reason", async () => {
    const lines: Line[] = []
    const net = memoryNetwork()
    const gate = definePlugin({
      name: 'gate',
      version: '1.0.0',
      kernel: '^1',
      setup(k) {
        k.hooks.connect.tapPromise('gate', async (session) => {
          if (session.handshake.nope) throw new EchoError('E_UNAUTHORIZED', 'go away')
        })
      },
    })
    const nope = definePlugin({ name: 'nope', version: '1.0.0', kernel: '^1', setup: (k) => void k.hooks.hello.tap('nope', (h) => ({ ...h, nope: true })) })
    const server = await createKernel({ role: 'server', logger: recorder(lines), plugins: [net.server, jsonCodecPlugin, gate] })
    kernels.push(server)
    await server.start()
    const client = await createKernel({ role: 'client', url: server.url, plugins: [net.client, jsonCodecPlugin] })
    kernels.push(client)
    await client.start()
    const id = client.session!.id
    await client.stop()
    await expect.poll(() => lines.some(([, m]) => m === 'session closed')).toBe(true)
    const refused = await createKernel({ role: 'client', url: server.url, plugins: [net.client, jsonCodecPlugin, nope] })
    kernels.push(refused)
    await expect(refused.start()).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' })
    await expect.poll(() => lines.some(([, m]) => m === 'handshake refused')).toBe(true)

    expect(lines.find(([, m]) => m === 'session connected')).toEqual(['info', 'session connected', { session: id, peer: 'memory:server', codec: 'json' }])
    expect(lines.find(([, m]) => m === 'session closed')).toMatchObject(['info', 'session closed', { session: id, code: 1000 }])
    expect(lines.find(([, m]) => m === 'handshake refused')).toMatchObject(['warn', 'handshake refused', { code: 'E_UNAUTHORIZED', reason: 'go away', peer: 'memory:server' }])
  })
})
