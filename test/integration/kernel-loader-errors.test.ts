/**
 * Every loader failure is an EchoError (`E_CONFIG` or `E_PLUGIN`) whose message names the plugin,
 * the option path or capability, and what to do. Each case goes through the public entry points
 * (`createServer` with an object or a config file, `kernel.load`) and binds no port.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createKernel, definePlugin, EchoError, type PluginDefinition } from '@echostream/kernel'
import { createServer } from '../helpers/create.js'
import { tempDir, track, writeFiles } from '../helpers/fixtures.js'
import { codecMsgpack, linkWorkspace, rejection, transportWs } from '../helpers/wire.js'

function plugin(name: string, extra: Partial<PluginDefinition> = {}): PluginDefinition {
  return definePlugin({ name, version: '1.0.0', kernel: '^1', setup() {}, ...extra })
}

/** A config file in a temp app whose node_modules link the workspace packages. */
function appWithConfig(config: unknown): string {
  const app = tempDir()
  linkWorkspace(app)
  writeFiles(app, { 'echostream.config.json': JSON.stringify(config, null, 2) })
  return app
}

describe('loader failures', () => {
  it('wrong option type (config file): E_CONFIG naming the plugin, the option path, the expected type and the fix', async () => {
    const app = appWithConfig({
      plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack'],
      options: { 'transport-ws': { port: 'five thousand' } },
    })
    const error = await rejection(createServer(undefined, { cwd: app }))
    expect(error).toBeInstanceOf(EchoError)
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toContain("plugin 'transport-ws'")
    expect(error.message).toContain("options['transport-ws'].port")
    expect(error.message).toContain('must be integer')
    expect(error.message).toContain('"five thousand"')
    expect(error.message).toMatch(/give it a value of that type/)
  })

  it('wrong option type (createKernel / kernel.load): the same facts, plus where to fix it', async () => {
    const error = await rejection(createKernel({ role: 'server', plugins: [[transportWs, { maxPayload: -1 }], codecMsgpack] }))
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toContain("plugin 'transport-ws'")
    expect(error.message).toContain("options['transport-ws'].maxPayload")
    expect(error.message).toContain('>= 1')
    expect(error.message).toMatch(/Fix options\['transport-ws'\] in your config/)
  })

  it('unknown option: E_CONFIG naming the plugin, the option, the known options and the fix', async () => {
    const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack], options: { 'transport-ws': { prot: 5000 } } }))
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toContain("plugin 'transport-ws'")
    expect(error.message).toContain("options['transport-ws'].prot")
    expect(error.message).toMatch(/known: port, host, path/)
    expect(error.message).toMatch(/remove it or fix its spelling/)
  })

  it('options for a plugin that is not loaded: E_CONFIG naming it and the loaded ones', async () => {
    const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack], options: { 'transport-wss': { port: 1 } } }))
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toContain("'transport-wss'")
    expect(error.message).toContain('loaded: transport-ws, codec-msgpack')
    expect(error.message).toMatch(/add the plugin or fix the name/)
  })

  it('missing capability: E_PLUGIN naming the plugin, the capability and the package that provides it', async () => {
    const needsRpc = plugin('dashboard', { requires: ['transport', 'rpc'] })
    const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack, needsRpc] }))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain("'dashboard'")
    expect(error.message).toContain("capability 'rpc'")
    expect(error.message).toContain('add @echostream/plugin-rpc')
    expect(error.data).toEqual({ plugin: 'dashboard', capability: 'rpc' })
  })

  it('a capability nobody knows: E_PLUGIN saying to add a plugin that provides it', async () => {
    const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack, plugin('needy', { requires: ['telepathy'] })] }))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain("'needy'")
    expect(error.message).toContain("'telepathy'")
    expect(error.message).toMatch(/add a plugin that provides 'telepathy'/)
  })

  it('a dependency cycle: E_PLUGIN naming the plugins in the cycle and how to break it', async () => {
    const a = plugin('alpha', { provides: ['a'], requires: ['c'] })
    const b = plugin('beta', { provides: ['b'], requires: ['a'] })
    const c = plugin('gamma', { provides: ['c'], requires: ['b'] })
    const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack, a, b, c] }))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toMatch(/cycle/)
    for (const name of ['alpha', 'beta', 'gamma']) expect(error.message).toContain(name)
    expect(error.message).toMatch(/stop requiring/)
  })

  it('two transports: E_PLUGIN naming both, the capability and how to keep one', async () => {
    const other = plugin('transport-tcp', { provides: ['transport'] })
    const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack, other] }))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain("'transport'")
    expect(error.message).toContain('transport-ws')
    expect(error.message).toContain('transport-tcp')
    expect(error.message).toMatch(/remove one of them/)
  })

  it('a second transport loaded at runtime is refused the same way, and the first keeps working', async () => {
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack] }))
    const error = await rejection(server.load(plugin('transport-tcp', { provides: ['transport'] })))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain('transport-tcp')
    expect(server.plugins().map((p) => p.name)).toEqual(['transport-ws', 'codec-msgpack'])
    await server.start()
    expect(server.url).toMatch(/^ws:/)
  })

  it('a kernel range this kernel does not satisfy: E_PLUGIN naming the plugin, both versions and the fix', async () => {
    const future = plugin('from-the-future', { version: '9.0.0', kernel: '^2.0.0' })
    const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack, future] }))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain("'from-the-future@9.0.0'")
    expect(error.message).toContain('^2.0.0')
    expect(error.message).toMatch(/this kernel is 1\.\d+\.\d+/)
    expect(error.message).toMatch(/install a version of the plugin made for kernel 1\.x/)
  })

  it('an invalid kernel range: E_PLUGIN telling the author what to declare', async () => {
    const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack, plugin('sloppy', { kernel: 'whatever' })] }))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain("'sloppy'")
    expect(error.message).toMatch(/kernel: '\^1'/)
  })

  it('a package specifier that cannot be resolved: E_PLUGIN naming it, the folder and the install command', async () => {
    const app = appWithConfig({ plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack', 'echostream-plugin-missing'] })
    const error = await rejection(createServer(join(app, 'echostream.config.json')))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain("'echostream-plugin-missing'")
    expect(error.message).toContain(app)
    expect(error.message).toContain('npm install echostream-plugin-missing')
  })

  it('a relative path that cannot be resolved: E_PLUGIN naming it and where relative paths resolve from', async () => {
    const app = appWithConfig({ plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack', './plugins/nope.js'] })
    const error = await rejection(createServer(join(app, 'echostream.config.json')))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain("'./plugins/nope.js'")
    expect(error.message).toMatch(/relative paths are resolved from the folder of the config/)
  })

  it('a module that exports no plugin: E_PLUGIN naming it and the export it needs', async () => {
    const app = appWithConfig({ plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack', './not-a-plugin.mjs'] })
    writeFiles(app, { 'not-a-plugin.mjs': 'export const answer = 42\n' })
    const error = await rejection(createServer(join(app, 'echostream.config.json')))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain("'./not-a-plugin.mjs'")
    expect(error.message).toMatch(/export default definePlugin/)
  })

  it('a plugin whose setup throws: E_PLUGIN naming it and the cause', async () => {
    const broken = plugin('broken', { setup: () => { throw new Error('no database') } })
    const error = await rejection(createServer({ plugins: [transportWs, codecMsgpack, broken] }))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toContain("'broken'")
    expect(error.message).toContain('no database')
  })

  it('several problems in one config are reported together, before anything binds a port', async () => {
    const app = appWithConfig({
      plugins: ['@echostream/plugin-transport-ws', '@echostream/plugin-codec-msgpack', 'echostream-plugin-missing'],
      options: { 'transport-ws': { port: -1, hots: 'x' } },
    })
    const error = await rejection(createServer(undefined, { cwd: app }))
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toMatch(/3 problems/)
    expect(error.message).toContain("'echostream-plugin-missing'")
    expect(error.message).toContain("options['transport-ws'].port")
    expect(error.message).toContain("options['transport-ws'].hots")
    expect((error.data as { problems: string[] }).problems).toHaveLength(3)
  })
})
