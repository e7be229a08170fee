/**
 * A server and a client assembled from config files on disk, one test per format cosmiconfig finds
 * (`echostream.config.ts`, `.mjs`, `.json`, `.yaml`, `package.json#echostream`). Plugins are named by
 * specifiers that resolve from the config's folder: the wire plugins from the app's node_modules,
 * a tap plugin by relative path. The tap plugin changes frames in `outbound`/`inbound` on both sides.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type EchoKernel, type Frame } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import { tempDir, track, until, writeFiles } from '../helpers/fixtures.js'
import { linkWorkspace } from '../helpers/wire.js'

/** A plugin file the configs name by relative path; it marks `tap.*` frames on the way out and in. */
const TAP_PLUGIN = `
import { definePlugin, Stage } from '@echostream/kernel'

export default definePlugin({
  name: 'tap',
  version: '0.1.0',
  kernel: '^1',
  requires: ['transport', 'codec'],
  wire: 1,
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['side'],
    properties: { side: { type: 'string', enum: ['server', 'client'] } },
  },
  setup(kernel, options) {
    const log = { outbound: [], inbound: [], received: [], side: options.side }
    const mark = (direction) => (frame) => {
      if (!frame || !frame.kind.startsWith('tap.')) return frame
      log[direction].push(frame.kind)
      return { ...frame, meta: { ...frame.meta, [direction + ':' + options.side]: true } }
    }
    kernel.hooks.outbound.tap({ name: 'tap', stage: Stage.LATE }, mark('outbound'))
    kernel.hooks.inbound.tap({ name: 'tap', stage: Stage.EARLY }, mark('inbound'))
    kernel.route('tap.ping', {
      handler(frame, session) {
        log.received.push(frame)
        session.send({ kind: 'tap.pong', id: frame.id, payload: frame.payload })
      },
    })
    kernel.route('tap.pong', { handler(frame) { log.received.push(frame) } })
    kernel.expose('tapLog', log)
  },
})
`

interface TapLog {
  side: string
  outbound: string[]
  inbound: string[]
  received: Frame[]
}

const tapLog = (kernel: EchoKernel) => (kernel as unknown as { tapLog: TapLog }).tapLog

const WIRE_PLUGINS = ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack']

/** The config object each format must express, for a side. */
function configFor(side: 'server' | 'client', url?: string, tapOptions: Record<string, unknown> = { side }) {
  return {
    role: side,
    plugins: [...WIRE_PLUGINS, ['../plugins/tap.mjs', tapOptions] as [string, Record<string, unknown>]] as Array<string | [string, Record<string, unknown>]>,
    options: side === 'server' ? { 'transport-ws': { host: '127.0.0.1', port: 0 } } : { 'transport-ws': { connectTimeoutMs: 5000 } },
    ...(url ? { url } : {}),
  }
}

function toYaml(config: ReturnType<typeof configFor>): string {
  const lines = [`role: ${config.role}`, 'plugins:']
  for (const plugin of config.plugins) {
    if (typeof plugin === 'string') lines.push(`  - '${plugin}'`)
    else lines.push(`  - - '${plugin[0]}'`, `    - side: ${(plugin[1] as { side: string }).side}`)
  }
  lines.push('options:', "  'transport-ws':")
  for (const [key, value] of Object.entries(config.options['transport-ws'])) lines.push(`    ${key}: ${typeof value === 'string' ? `'${value}'` : value}`)
  if (config.url) lines.push(`url: '${config.url}'`)
  return lines.join('\n') + '\n'
}

interface Format {
  name: string
  file: string
  write(config: ReturnType<typeof configFor>): string
}

const formats: Format[] = [
  {
    name: 'echostream.config.ts',
    file: 'echostream.config.ts',
    // Type annotations and `satisfies` make this file TypeScript-only: it loads only if TS is compiled.
    write: (config) => `import { defineConfig, type EchoConfig } from '@echostream/kernel'
const role: 'server' | 'client' = ${JSON.stringify(config.role)}
const config = ${JSON.stringify({ ...config, role: undefined }, null, 2)} satisfies EchoConfig
export default defineConfig({ ...config, role } as EchoConfig)
`,
  },
  {
    name: 'echostream.config.mjs',
    file: 'echostream.config.mjs',
    write: (config) => `import { defineConfig } from '@echostream/kernel'\nexport default defineConfig(${JSON.stringify(config, null, 2)})\n`,
  },
  {
    name: 'echostream.config.json',
    file: 'echostream.config.json',
    write: (config) => JSON.stringify(config, null, 2),
  },
  {
    name: 'echostream.config.yaml',
    file: 'echostream.config.yaml',
    write: toYaml,
  },
  {
    name: 'package.json#echostream',
    file: 'package.json',
    write: (config) => JSON.stringify({ name: `app-${config.role}`, private: true, type: 'module', echostream: config }, null, 2),
  },
]

describe('config files on disk', () => {
  it.each(formats)('$name: server and client handshake and pass a frame through taps on both sides', async (format) => {
    // <app>/node_modules links the workspace packages; <app>/plugins/tap.mjs is the user's own plugin.
    const app = tempDir({ 'plugins/tap.mjs': TAP_PLUGIN })
    linkWorkspace(app)
    writeFiles(app, { [join('server', format.file)]: format.write(configFor('server')) })

    // No path given: cosmiconfig must find the file in the folder (cwd).
    const server = track(await createServer(undefined, { cwd: join(app, 'server') }))
    expect(server.plugins().map((p) => p.name)).toEqual(['transport-ws', 'codec-msgpack', 'tap'])
    expect(server.baseDir).toBe(join(app, 'server'))
    await server.start()
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)

    writeFiles(app, { [join('client', format.file)]: format.write(configFor('client', server.url)) })
    // The client config is loaded by explicit path.
    const client = track(await createClient(join(app, 'client', format.file)))
    expect(client.plugins().map((p) => p.name)).toEqual(['transport-ws', 'codec-msgpack', 'tap'])
    await client.start()
    expect(client.session?.state).toBe('open')
    await until(() => server.sessions().length === 1, 5000, 'the server session')
    expect(server.sessions()[0]!.id).toBe(client.session!.id)

    const serverTap = tapLog(server)
    const clientTap = tapLog(client)
    expect(serverTap.side).toBe('server')
    expect(clientTap.side).toBe('client')

    client.session!.send({ kind: 'tap.ping', id: 1, payload: { bytes: new Uint8Array([7, 8, 9]) } })
    await until(() => clientTap.received.length === 1, 5000, 'tap.pong on the client')

    // The client's outbound tap marked the frame before encoding; the server's inbound tap marked
    // it again before the route saw it.
    const atServer = serverTap.received[0]!
    expect(atServer.kind).toBe('tap.ping')
    expect(atServer.meta).toEqual({ 'outbound:client': true, 'inbound:server': true })
    expect(Buffer.from((atServer.payload as { bytes: Uint8Array }).bytes)).toEqual(Buffer.from([7, 8, 9]))
    // And the answer went through the server's outbound and the client's inbound taps.
    const atClient = clientTap.received[0]!
    expect(atClient).toMatchObject({ kind: 'tap.pong', id: 1 })
    expect(atClient.meta).toEqual({ 'outbound:server': true, 'inbound:client': true })
    expect(Buffer.from((atClient.payload as { bytes: Uint8Array }).bytes)).toEqual(Buffer.from([7, 8, 9]))

    expect(clientTap.outbound).toEqual(['tap.ping'])
    expect(serverTap.inbound).toEqual(['tap.ping'])
    expect(serverTap.outbound).toEqual(['tap.pong'])
    expect(clientTap.inbound).toEqual(['tap.pong'])
  })

  it('refuses a config file whose plugin option is wrong, naming the plugin, the option path and the allowed values', async () => {
    const app = tempDir({ 'plugins/tap.mjs': TAP_PLUGIN })
    linkWorkspace(app)
    writeFiles(app, { 'server/echostream.config.yaml': toYaml(configFor('server', undefined, { side: 'middle' })) })
    const error = await createServer(undefined, { cwd: join(app, 'server') }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: 'E_CONFIG' })
    expect((error as Error).message).toContain("plugin 'tap'")
    expect((error as Error).message).toContain("options['tap'].side")
    expect((error as Error).message).toMatch(/"server", "client"/)
  })
})
