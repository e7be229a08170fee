/**
 * A third-party plugin, `echostream-plugin-audit`, lives in a temporary app folder outside the
 * workspace with its own package.json. It is loaded by relative path, by package name from the
 * app's node_modules (through a config file), and at runtime with `kernel.load`; its options are
 * validated, its taps run, and after `kernel.unload('audit')` none of them run again.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type EchoKernel } from '@echostream/kernel'
import { createServer } from '../helpers/create.js'
import { tempDir, track, until, writeFiles } from '../helpers/fixtures.js'
import { codecMsgpack, createProbe, linkWorkspace, rejection, startClient, transportWs } from '../helpers/wire.js'

const AUDIT_PACKAGE = JSON.stringify(
  {
    name: 'echostream-plugin-audit',
    version: '2.3.4',
    type: 'module',
    exports: { '.': { default: './index.js' }, './package.json': './package.json' },
    peerDependencies: { '@echostream/kernel': '^1.0.0' },
  },
  null,
  2,
)

/**
 * Records every frame, connect, disconnect and lifecycle event it sees into `kernel.audit.entries`.
 * `importKernel` decides how it gets `definePlugin`: the checkout in vendor/ imports it from
 * `@echostream/kernel`; the copy installed in node_modules is a plain object (which is all a plugin
 * is), because vitest loads files under node_modules with Node itself, where the workspace
 * kernel's `development` export is TypeScript that Node cannot load. Published, it resolves to dist.
 */
const auditIndex = (importKernel: boolean) => `
import { createRequire } from 'node:module'
${importKernel ? "import { definePlugin } from '@echostream/kernel'" : '/** @type {<T>(plugin: import("@echostream/kernel").PluginDefinition<T>) => import("@echostream/kernel").PluginDefinition<T>} */\nconst definePlugin = (plugin) => Object.freeze(plugin)'}

const { version } = createRequire(import.meta.url)('./package.json')
const PLUGIN = 'audit'

export default definePlugin({
  name: PLUGIN,
  version,
  kernel: '^1',
  requires: ['codec'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      prefix: { type: 'string', minLength: 1, default: 'audit' },
      frames: { type: 'boolean', default: true },
    },
  },
  setup(kernel, options) {
    const entries = []
    const note = (what) => entries.push(options.prefix + ':' + what)
    const onFrame = (direction) => (frame) => {
      if (frame && options.frames) note(direction + ':' + frame.kind)
      return frame
    }
    kernel.hooks.inbound.tap(PLUGIN, onFrame('in'))
    kernel.hooks.outbound.tap(PLUGIN, onFrame('out'))
    kernel.hooks.connect.tapPromise(PLUGIN, async () => note('connect'))
    kernel.hooks.disconnect.tap(PLUGIN, () => note('disconnect'))
    kernel.hooks.protocolError.tap(PLUGIN, (error) => note('protocolError:' + error.code))
    kernel.hooks.init.tapPromise(PLUGIN, async () => note('init'))
    kernel.hooks.start.tapPromise(PLUGIN, async () => note('start'))
    kernel.hooks.stop.tapPromise(PLUGIN, async () => note('stop'))
    kernel.hooks.destroy.tapPromise(PLUGIN, async () => note('destroy'))
    kernel.expose('audit', { entries, options })
    return () => note('disposed')
  },
})
`

interface AuditApi {
  entries: string[]
  options: { prefix: string; frames: boolean }
}
const auditOf = (kernel: EchoKernel) => (kernel as unknown as { audit?: AuditApi }).audit

/** <app>/node_modules/echostream-plugin-audit (installed) and <app>/vendor/audit (a checkout, for relative paths). */
function makeApp(extra: Record<string, string> = {}): string {
  const app = tempDir({
    'node_modules/echostream-plugin-audit/package.json': AUDIT_PACKAGE,
    'node_modules/echostream-plugin-audit/index.js': auditIndex(false),
    'vendor/audit/package.json': AUDIT_PACKAGE,
    'vendor/audit/index.js': auditIndex(true),
    ...extra,
  })
  linkWorkspace(app)
  return app
}

/** Round-trips a probe frame, the audited traffic of these tests. */
async function roundTrip(server: EchoKernel, url: string) {
  const { client, probe } = await startClient(url)
  const pong = await probe.ping(client.session!, 'hi')
  expect(pong.payload).toBe('hi')
  await until(() => server.sessions().length >= 1, 5000, 'the server session')
  return { client, probe }
}

/** Unloads the audit plugin and proves none of its taps run afterwards, while traffic still flows. */
async function unloadAndCheckSilence(server: EchoKernel, serverProbe: ReturnType<typeof createProbe>): Promise<void> {
  const audit = auditOf(server)!
  const { client, probe } = await startClient(server.url!)
  await probe.ping(client.session!, 'before')
  expect(audit.entries).toContain(`${audit.options.prefix}:in:probe.ping`)
  expect(audit.entries).toContain(`${audit.options.prefix}:out:probe.pong`)

  await server.unload('audit')
  expect(server.plugins().map((p) => p.name)).not.toContain('audit')
  expect(auditOf(server)).toBeUndefined()
  expect(audit.entries.at(-1)).toBe(`${audit.options.prefix}:disposed`)
  const after = audit.entries.length

  // Frames both ways, a protocol error, a new connection and a disconnect: no audit tap may run.
  const pingsBefore = serverProbe.pings.length
  const disconnectsBefore = serverProbe.disconnects.length
  const errorsBefore = serverProbe.protocolErrors.length
  await probe.ping(client.session!, 'after-1')
  await probe.ping(client.session!, 'after-2')
  client.session!.send({ kind: 'nobody.handles' })
  const second = await startClient(server.url!)
  await second.probe.ping(second.client.session!, 'second')
  await second.client.stop()
  await until(() => serverProbe.disconnects.length > disconnectsBefore, 5000, 'the second client to disconnect')
  await until(() => serverProbe.protocolErrors.length > errorsBefore, 5000, 'the protocol error')
  expect(serverProbe.pings.length).toBe(pingsBefore + 3)
  expect(audit.entries.length).toBe(after)
  expect(audit.entries.slice(after)).toEqual([])
}

describe('a third-party plugin from outside the workspace', () => {
  it('loads by relative path: options validated with defaults, taps run, then unloaded at runtime', async () => {
    const app = makeApp()
    const probe = createProbe()
    const server = track(
      await createServer(
        { plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack', probe.plugin, './vendor/audit'], options: { 'transport-ws': { port: 0 } } },
        { cwd: app },
      ),
    )
    const loaded = server.plugins().find((p) => p.name === 'audit')
    expect(loaded).toMatchObject({ name: 'audit', version: '2.3.4' })
    expect(loaded!.options).toEqual({ prefix: 'audit', frames: true }) // schema defaults applied
    expect(Object.isFrozen(loaded!.options)).toBe(true)
    await server.start()
    expect(auditOf(server)!.entries.slice(0, 2)).toEqual(['audit:init', 'audit:start'])

    const { client } = await roundTrip(server, server.url!)
    expect(auditOf(server)!.entries).toEqual(expect.arrayContaining(['audit:connect', 'audit:in:probe.ping', 'audit:out:probe.pong']))
    await client.stop()
    await until(() => auditOf(server)!.entries.includes('audit:disconnect'), 5000, 'the audited disconnect')

    await unloadAndCheckSilence(server, probe)
  })

  it('loads by package name from the app node_modules through a config file, and unloads', async () => {
    const app = makeApp({
      'echostream.config.json': JSON.stringify({
        plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack', ['echostream-plugin-audit', { prefix: 'pkg' }]],
        options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, audit: { frames: true } },
      }),
    })
    // The probe is added at runtime; the config alone names the audit plugin by package name.
    const server = track(await createServer(join(app, 'echostream.config.json')))
    expect(server.plugins().find((p) => p.name === 'audit')?.options).toEqual({ prefix: 'pkg', frames: true })
    const probe = createProbe()
    await server.load(probe.plugin)
    await server.start()
    await roundTrip(server, server.url!)
    expect(auditOf(server)!.entries).toEqual(expect.arrayContaining(['pkg:init', 'pkg:start', 'pkg:connect', 'pkg:in:probe.ping', 'pkg:out:probe.pong']))
    await unloadAndCheckSilence(server, probe)
  })

  it('refuses wrong options for it: a wrong type and an unknown option, naming the plugin and the option', async () => {
    const app = makeApp()
    const base = ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack']
    const wrongType = await rejection(createServer({ plugins: [...base, ['./vendor/audit', { prefix: 42 }]] }, { cwd: app }))
    expect(wrongType.code).toBe('E_CONFIG')
    expect(wrongType.message).toContain("plugin 'audit'")
    expect(wrongType.message).toContain("options['audit'].prefix")
    expect(wrongType.message).toMatch(/must be string/)

    const unknown = await rejection(createServer({ plugins: [...base, 'echostream-plugin-audit'], options: { audit: { prefx: 'x' } } }, { cwd: app }))
    expect(unknown.code).toBe('E_CONFIG')
    expect(unknown.message).toContain("plugin 'audit'")
    expect(unknown.message).toContain("options['audit'].prefx")
    expect(unknown.message).toMatch(/known: prefix, frames/)
  })

  it('kernel.load(spec, options) at runtime: by package name, validated, running at once; then unloaded', async () => {
    const app = makeApp()
    const probe = createProbe()
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, probe.plugin], options: { 'transport-ws': { port: 0 } } }, { cwd: app }))
    await server.start()
    expect(auditOf(server)).toBeUndefined()

    // Invalid options: refused, and nothing of the plugin stays behind.
    const bad = await rejection(server.load('echostream-plugin-audit', { prefix: '' }))
    expect(bad.code).toBe('E_CONFIG')
    expect(bad.message).toContain("options['audit'].prefix")
    expect(server.plugins().map((p) => p.name)).toEqual(['transport-ws', 'codec-msgpack', 'probe'])
    expect(auditOf(server)).toBeUndefined()

    const missing = await rejection(server.load('echostream-plugin-nope'))
    expect(missing.code).toBe('E_PLUGIN')
    expect(missing.message).toContain("'echostream-plugin-nope'")

    await server.load('echostream-plugin-audit', { prefix: 'rt' })
    // A plugin loaded into a running kernel gets its init and start at once.
    expect(auditOf(server)!.entries).toEqual(['rt:init', 'rt:start'])
    await roundTrip(server, server.url!)
    expect(auditOf(server)!.entries).toEqual(expect.arrayContaining(['rt:in:probe.ping', 'rt:out:probe.pong']))

    // Loading it again while it is loaded is refused.
    const twice = await rejection(server.load('./vendor/audit'))
    expect(twice.code).toBe('E_PLUGIN')
    expect(twice.message).toContain("'audit'")

    const audit = auditOf(server)!
    await unloadAndCheckSilence(server, probe)
    // Unloading a running plugin runs its own stop and destroy taps (as load ran init and start), then its dispose.
    expect(audit.entries.slice(-3)).toEqual(['rt:stop', 'rt:destroy', 'rt:disposed'])
  })
})
