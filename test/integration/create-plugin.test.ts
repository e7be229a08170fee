/**
 * A third-party plugin from the template, published and used like any other (issue 6, must show
 * 2), with real processes and no registry: `create-echostream --plugin echostream-plugin-greeter`
 * writes the package; it installs offline from the packed workspace tarballs; its own test passes
 * (a real server on preset-minimal); `npm pack` builds and packs it; a separate app installs that
 * tarball, names the plugin by package name in its config, and `echostream start` loads it with
 * validated options; a client connects and the plugin's connect hook logs it; wrong options stop
 * the server with E_CONFIG before it listens; the plugin's types reach the app under tsc.
 *
 * Slow (about a minute): ECHOSTREAM_SKIP_PACK_TESTS=1 skips it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { absolutePaths, packAllCached, tarballEntry, tarballFiles, type Packed } from '../../scripts/pack-all.mjs'
import { expectOk, Processes, userEnv } from '../../scripts/pack-testkit.mjs'

const WORKSPACE = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const CREATE_BIN = join(WORKSPACE, 'presets/create-echostream/bin/create-echostream.js')
const TSC = join(WORKSPACE, 'node_modules/typescript/bin/tsc')
const SKIP = Boolean(process.env.ECHOSTREAM_SKIP_PACK_TESTS)

const processes = new Processes()
let packed: Packed
let work: string
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  if (SKIP) return
  packed = await packAllCached()
  work = mkdtempSync(join(tmpdir(), 'echostream-plugin-'))
  mkdirSync(join(work, 'npm-cache'))
  env = userEnv(join(work, 'npm-cache'))
}, 240_000)

afterAll(() => {
  processes.killAll()
  if (work) rmSync(work, { recursive: true, force: true })
})

/** `file:` specs of every packed tarball relative to `base`, as `overrides`: nothing resolves through a registry, no absolute path. */
function overrides(base: string): Record<string, string> {
  const all = { ...packed.manifest.packages, ...packed.manifest.deps }
  return Object.fromEntries(Object.entries(all).map(([name, { file }]) => [name, `file:${relative(base, join(packed.out, file))}`]))
}

const APP_CLIENT = `// Connects to the URL in argv[2] on preset-minimal and disconnects.
import { createClient } from '@echostream/node'
const client = await createClient({ preset: '@echostream/preset-minimal', url: process.argv[2] })
await client.start()
console.log('session', client.session.id)
await client.stop()
`

const APP_TYPES = `// The plugin's published types augment the kernel's: server.greeter is typed, options are not any.
import { createServer } from '@echostream/node'
import type {} from 'echostream-plugin-greeter'
import greeter, { type GreeterOptions } from 'echostream-plugin-greeter'
const server = await createServer({ preset: '@echostream/preset-minimal', plugins: [[greeter, { greeting: 'typed' }]] })
const connections: number = server.greeter.connections()
const options: Readonly<GreeterOptions> = server.greeter.options
// @ts-expect-error greeting is a string
const wrong: number = server.greeter.options.greeting
export { connections, options, wrong }
`

describe.skipIf(SKIP)('create-echostream --plugin: a third-party plugin, packed, installed into an app and loaded by package name', () => {
  it('template → npm test → npm pack → app config by package name → loads, validates options, its hook runs', async () => {
    // 1. The plugin package, from the template.
    expectOk(await processes.run(process.execPath, [CREATE_BIN, '--plugin', 'echostream-plugin-greeter', '--from', packed.out], { cwd: work, env, timeoutMs: 30_000 }), 'create-echostream --plugin')
    const plugin = join(work, 'echostream-plugin-greeter')
    const pluginPkg = JSON.parse(readFileSync(join(plugin, 'package.json'), 'utf8'))
    expect(pluginPkg.peerDependencies).toEqual({ '@echostream/kernel': '^1' })
    expect(pluginPkg.files).toEqual(['dist/'])
    expect(readFileSync(join(plugin, 'src/index.ts'), 'utf8')).toContain("const PLUGIN = 'greeter'")

    // 2. Its own checks: installed offline, its test (a real server, preset-minimal) and types pass.
    expectOk(await processes.run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: plugin, env, timeoutMs: 150_000 }), 'npm install (plugin)')
    const ownTest = expectOk(await processes.run('npm', ['test'], { cwd: plugin, env, timeoutMs: 90_000 }), 'npm test (plugin)')
    expect(ownTest.stdout).toMatch(/# pass 2\b/)
    expectOk(await processes.run('npm', ['run', 'typecheck'], { cwd: plugin, env, timeoutMs: 90_000 }), 'npm run typecheck (plugin)')

    // 3. Packed: prepack builds dist/; the tarball holds dist/ with types, README, package.json, nothing else.
    const packedPlugin = expectOk(await processes.run('npm', ['pack', '--pack-destination', work], { cwd: plugin, env, timeoutMs: 90_000 }), 'npm pack (plugin)')
    const pluginTarball = join(work, packedPlugin.stdout.trim().split('\n').pop()!)
    const files = tarballFiles(pluginTarball).sort()
    expect(files).toEqual(['package/README.md', 'package/dist/index.d.ts', 'package/dist/index.js', 'package/package.json'])
    // Its manifest names the workspace tarballs relative to the plugin (dev-only), never by absolute path.
    const packedManifest = JSON.parse(tarballEntry(pluginTarball, 'package/package.json'))
    expect(absolutePaths(packedManifest)).toEqual([])
    expect(packedManifest.devDependencies['@echostream/kernel']).toMatch(/^file:\.\.\//)

    // 4. A separate app that installs the tarball and names the plugin by package name.
    const app = join(work, 'app')
    const config = (greeterOptions: unknown) =>
      JSON.stringify({ preset: '@echostream/preset-minimal', plugins: [['echostream-plugin-greeter', greeterOptions]], options: { 'transport-ws': { port: 0, host: '127.0.0.1' } } }, null, 2)
    mkdirSync(app)
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'greeter-app',
          private: true,
          type: 'module',
          dependencies: {
            '@echostream/kernel': overrides(app)['@echostream/kernel'],
            '@echostream/node': overrides(app)['@echostream/node'],
            '@echostream/preset-minimal': overrides(app)['@echostream/preset-minimal'],
            'echostream-plugin-greeter': `file:${relative(app, pluginTarball)}`,
          },
          devDependencies: { '@types/node': overrides(app)['@types/node'] },
          overrides: overrides(app),
        },
        null,
        2,
      ),
    )
    writeFileSync(join(app, 'echostream.config.json'), config({ greeting: 'hi' }))
    writeFileSync(join(app, 'client.mjs'), APP_CLIENT)
    writeFileSync(join(app, 'types.ts'), APP_TYPES)
    expectOk(await processes.run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: app, env, timeoutMs: 150_000 }), 'npm install (app)')
    expect(existsSync(join(app, 'node_modules/echostream-plugin-greeter/dist/index.js'))).toBe(true)
    // No manifest the app installed, nor its own, names an absolute path.
    for (const manifest of [join(app, 'package.json'), ...['echostream-plugin-greeter', '@echostream/kernel', '@echostream/preset-minimal'].map((n) => join(app, 'node_modules', n, 'package.json'))]) {
      expect(absolutePaths(JSON.parse(readFileSync(manifest, 'utf8'))), manifest).toEqual([])
    }
    const cli = join(app, 'node_modules/.bin/echostream')

    // 5. Loads: inspect shows it by package name with its validated options (schema defaults applied).
    const inspected = JSON.parse(expectOk(await processes.run(cli, ['inspect', '--json'], { cwd: app, env, timeoutMs: 30_000 }), 'echostream inspect').stdout)
    expect(inspected.plugins.find((p: { name: string }) => p.name === 'greeter')).toMatchObject({ source: 'echostream-plugin-greeter', version: '0.1.0', options: { greeting: 'hi', log: true } })

    // 6. Runs: the server lists it; a client connects; the plugin's connect hook logs the session.
    const server = await processes.serve(cli, ['start'], { cwd: app, env, timeoutMs: 30_000 })
    try {
      expect(server.plugins).toEqual(['transport-ws', 'codec-msgpack', 'rpc', 'greeter'])
      expect(server.output()).toContain('greeter@0.1.0')
      const client = expectOk(await processes.run(process.execPath, ['client.mjs', server.url], { cwd: app, env, timeoutMs: 30_000 }), 'client.mjs')
      const session = /session (\S+)/.exec(client.stdout)![1]
      const deadline = Date.now() + 5000
      while (!server.output().includes(`greeter: hi, session ${session} (`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(server.output()).toContain(`[echostream] greeter: hi, session ${session} (127.0.0.1:`)
    } finally {
      const stopped = await server.stop()
      expect(stopped.code).toBe(0)
    }

    // 7. Validates: a wrong type and an unknown option are E_CONFIG, named, before any port is bound.
    writeFileSync(join(app, 'echostream.config.json'), config({ greeting: 42, greting: 'typo' }))
    const refused = await processes.run(cli, ['start'], { cwd: app, env, timeoutMs: 30_000 })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('E_CONFIG:')
    expect(refused.stderr).toContain("options['greeter'].greeting")
    expect(refused.stderr).toContain("options['greeter'].greting")
    expect(refused.stdout).not.toContain('listening on')

    // 8. Typed: the plugin's declarations augment KernelApi in the app (TypeScript from the workspace).
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['types.ts'] }))
    expectOk(await processes.run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app, env, timeoutMs: 60_000 }), 'tsc (app using the plugin)')
  }, 400_000)
})
