/**
 * Packed tarballs of every publishable package (issue 6, must show 5): `pnpm pack` output holds
 * dist/ with declarations and a README and no sources, tests or `workspace:` ranges; all of them
 * install together into a clean temp project with `npm install --offline` (no registry, an empty
 * npm cache); each imports from plain Node (ESM, dist/ only) and a server and client built from
 * them talk over a real socket; a .ts file importing every package type-checks with the workspace's
 * TypeScript, augmentations included.
 *
 * Slow (about 30 s, plus the packing when the workspace changed): ECHOSTREAM_SKIP_PACK_TESTS=1 skips it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { absolutePaths, checkTarball, packAllCached, tarballEntry, tarballFiles, type Packed } from '../../scripts/pack-all.mjs'
import { expectOk, Processes, userEnv } from '../../scripts/pack-testkit.mjs'

const WORKSPACE = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const TSC = join(WORKSPACE, 'node_modules/typescript/bin/tsc')
const SKIP = Boolean(process.env.ECHOSTREAM_SKIP_PACK_TESTS)

const processes = new Processes()
let packed: Packed
let project: string
let env: NodeJS.ProcessEnv

/** Files a package may ship besides package.json, README.md, LICENSE and dist/ JavaScript, declarations and maps. */
const EXTRAS: Record<string, RegExp> = {
  '@echostream/node': /^bin\/echostream\.js$/,
  'create-echostream': /^bin\/create-echostream\.js$/,
  '@echostream/preset-browser': /^(scripts\/[\w-]+\.(mjs|d\.mts)|ERRORS\.md)$/,
  '@echostream/plugin-devtools': /^page\/[\w.-]+\.(html|js|css)$/,
}

/** The files of `name`'s package that are not intended for publishing. */
const unintended = (name: string, files: string[]) => files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/[\w./-]+\.(js|d\.ts|js\.map))$/.test(f) && !EXTRAS[name]?.test(f))

/** Every package the workspace publishes (private ones, the examples and tests, are not packed). */
const names = () => Object.keys(packed.manifest.packages).sort()

beforeAll(async () => {
  if (SKIP) return
  packed = await packAllCached()
  project = mkdtempSync(join(tmpdir(), 'echostream-pack-'))
  mkdirSync(join(project, 'npm-cache'))
  env = userEnv(join(project, 'npm-cache'))
  // Relative specs, as create-echostream writes them: the app's own manifest names no absolute path either.
  const spec = (file: string) => `file:${relative(project, join(packed.out, file))}`
  const overrides = Object.fromEntries(Object.entries({ ...packed.manifest.packages, ...packed.manifest.deps }).map(([name, { file }]) => [name, spec(file)]))
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'clean-consumer',
        private: true,
        type: 'module',
        dependencies: Object.fromEntries(names().map((name) => [name, overrides[name]])),
        devDependencies: { '@types/node': overrides['@types/node'] },
        overrides,
      },
      null,
      2,
    ),
  )
  expectOk(await processes.run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: project, env, timeoutMs: 180_000 }), 'npm install --offline (clean project)')
}, 400_000)

/** The files of each package in npm's dry-run notices (`npm notice 📦  name@version`, then `npm notice <size> <path>` lines). */
function publishedFiles(output: string): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  let current: string[] | undefined
  for (const line of output.split('\n')) {
    const pkg = /npm notice \S*\s+(\S+)@\d+\.\d+\.\d+\S*$/u.exec(line)
    if (/npm notice .*📦/u.test(line) && pkg) out[pkg[1]!] = current = []
    else if (/npm notice Tarball Details/.test(line)) current = undefined
    else if (current) {
      const file = /^npm notice [\d.]+k?M?B (.+)$/.exec(line.trim())
      if (file) current.push(file[1]!)
    }
  }
  for (const files of Object.values(out)) files.sort()
  return out
}

afterAll(() => {
  processes.killAll()
  if (project) rmSync(project, { recursive: true, force: true })
})

describe.skipIf(SKIP)('packed tarballs of every package', () => {
  it('packs every publishable package, including the presets and create-echostream', () => {
    expect(names()).toEqual(
      expect.arrayContaining([
        '@echostream/kernel',
        '@echostream/node',
        '@echostream/plugin-transport-ws',
        '@echostream/plugin-codec-msgpack',
        '@echostream/plugin-rpc',
        '@echostream/plugin-events',
        '@echostream/plugin-streams',
        '@echostream/plugin-clock-sync',
        '@echostream/plugin-discovery-mdns',
        '@echostream/preset-default',
        '@echostream/preset-minimal',
        '@echostream/preset-lan',
        '@echostream/preset-realtime',
        'create-echostream',
      ]),
    )
    expect(names().some((n) => n.includes('example') || n.includes('integration-tests'))).toBe(false)
  })

  it('each tarball holds dist/ JavaScript, declarations and README, and no sources, tests or workspace: ranges', () => {
    const problems = names().flatMap((name) => checkTarball(join(packed.out, packed.manifest.packages[name]!.file)))
    expect(problems, problems.join('\n')).toEqual([])
    const kernel = tarballFiles(join(packed.out, packed.manifest.packages['@echostream/kernel']!.file))
    expect(kernel).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.d.ts', 'package/README.md']))
    const node = tarballFiles(join(packed.out, packed.manifest.packages['@echostream/node']!.file))
    expect(node).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/cli.js', 'package/bin/echostream.js', 'package/README.md']))
    const create = tarballFiles(join(packed.out, packed.manifest.packages['create-echostream']!.file))
    expect(create).toEqual(expect.arrayContaining(['package/bin/create-echostream.js', 'package/dist/cli.js', 'package/dist/templates/app.js', 'package/README.md']))
  })

  it('pnpm -r pack lists exactly the intended files: package.json, README, LICENSE, dist/ JavaScript, declarations and maps, plus named extras', () => {
    for (const name of names()) {
      const files = packed.manifest.packages[name]!.files
      expect(files, name).toContain('package.json')
      expect(files, name).toContain('README.md')
      expect(files, name).toContain('LICENSE')
      const unexpected = unintended(name, files)
      expect(unexpected, name).toEqual([])
      // Declaration maps point at src/, which is not published: none ship.
      expect(files.filter((f) => f.endsWith('.d.ts.map')), name).toEqual([])
    }
  })

  it('every package imports from plain Node (ESM, from dist/), and a server and client made of them talk over a socket', async () => {
    writeFileSync(
      join(project, 'import-all.mjs'),
      `const report = {}
for (const name of ${JSON.stringify(names())}) {
  const ns = await import(name)
  const d = ns.default
  report[name] = { exports: Object.keys(ns).length, plugin: d && typeof d.setup === 'function' ? d.name : undefined, fragment: Boolean(d && (d.plugins || d.preset)) }
}
console.log(JSON.stringify(report))
`,
    )
    const imported = JSON.parse(expectOk(await processes.run(process.execPath, ['import-all.mjs'], { cwd: project, env, timeoutMs: 30_000 }), 'import-all.mjs').stdout)
    for (const name of names()) {
      expect(imported[name]?.exports, name).toBeGreaterThan(0)
      if (name.startsWith('@echostream/plugin-')) expect(imported[name].plugin, name).toBe(name.slice('@echostream/plugin-'.length))
      if (name.startsWith('@echostream/preset-')) expect(imported[name].fragment, name).toBe(true)
    }

    writeFileSync(
      join(project, 'roundtrip.mjs'),
      `import { createClient, createServer } from '@echostream/node'
const server = await createServer({ preset: '@echostream/preset-default', options: { 'transport-ws': { port: 0 } } })
server.rpc.handle('add', ({ a, b }) => a + b)
await server.start()
const client = await createClient({ preset: '@echostream/preset-default', url: server.url })
await client.start()
console.log(await client.rpc.request('add', { a: 2, b: 3 }))
await client.stop()
await server.stop()
`,
    )
    const roundtrip = expectOk(await processes.run(process.execPath, ['roundtrip.mjs'], { cwd: project, env, timeoutMs: 30_000 }), 'roundtrip.mjs')
    expect(roundtrip.stdout.trim()).toBe('5')
    const version = expectOk(await processes.run(join(project, 'node_modules/.bin/echostream'), ['--version'], { cwd: project, env, timeoutMs: 30_000 }), 'echostream --version')
    expect(version.stdout.trim()).toBe(packed.manifest.packages['@echostream/kernel']!.version)
  })

  it('must show 5: installed from their tarballs into a project outside the workspace, no manifest names an absolute path', () => {
    expect(resolve(project).startsWith(WORKSPACE + sep)).toBe(false)
    const manifests = [join(project, 'package.json'), ...names().map((name) => join(project, 'node_modules', name, 'package.json'))]
    for (const file of manifests) {
      expect(existsSync(file), file).toBe(true)
      expect(absolutePaths(JSON.parse(readFileSync(file, 'utf8'))), file).toEqual([])
    }
    // And the manifests inside the tarballs themselves (what a registry would serve).
    for (const name of names()) expect(absolutePaths(JSON.parse(tarballEntry(join(packed.out, packed.manifest.packages[name]!.file), 'package/package.json'))), name).toEqual([])
    // A plugin installed from its tarball is the published shape: dist/, no sources, its LICENSE.
    const rpc = join(project, 'node_modules/@echostream/plugin-rpc')
    expect(existsSync(join(rpc, 'dist/index.js')) && existsSync(join(rpc, 'LICENSE')) && !existsSync(join(rpc, 'src'))).toBe(true)
  })

  // `pnpm publish` packs with the same file list as `pnpm pack`; this runs the real dry run for the
  // packages with extra files (bin/, page/, scripts/) and a plain plugin, and compares with the
  // intended lists. (All 23 take ~7 s each here, mostly npm starting: too slow for one test file.)
  it('pnpm -r publish --dry-run lists exactly the intended files', { timeout: 120_000 }, async () => {
    const chosen = ['@echostream/node', 'create-echostream', '@echostream/preset-browser', '@echostream/plugin-devtools', '@echostream/plugin-rpc'].filter((n) => names().includes(n))
    const result = await processes.run('pnpm', ['-r', ...chosen.flatMap((n) => ['--filter', n]), 'publish', '--dry-run', '--no-git-checks', '--registry', 'http://127.0.0.1:9/'], {
      cwd: WORKSPACE,
      env: { ...env, npm_config_fetch_retries: '0' },
      timeoutMs: 110_000,
    })
    expect(result.code, result.stderr.slice(-2000)).toBe(0)
    const listed = publishedFiles(`${result.stdout}\n${result.stderr}`)
    expect(Object.keys(listed).sort()).toEqual([...chosen].sort())
    for (const name of chosen) {
      expect(listed[name], name).toEqual([...packed.manifest.packages[name]!.files].sort())
      expect(unintended(name, listed[name]!), name).toEqual([])
    }
  })

  const TYPES = `import { createServer, createClient, EchoError, type EchoConfig, type PluginDefinition } from '@echostream/node'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
import discoveryMdns from '@echostream/plugin-discovery-mdns'
import presetDefault from '@echostream/preset-default'
import presetMinimal from '@echostream/preset-minimal'
import presetLan, { defaults as lanDefaults } from '@echostream/preset-lan'
import presetRealtime, { defineStream, type StreamFrame } from '@echostream/preset-realtime'
import { createApp, PRESETS, type PresetName } from 'create-echostream'

const fragments: EchoConfig[] = [presetDefault, presetMinimal, presetLan, presetRealtime]
const plugins: PluginDefinition[] = [transportWs, codecMsgpack, rpc, events, streams, clockSync, discoveryMdns]
const host: string = lanDefaults['transport-ws'].host
const preset: PresetName = 'realtime'

// The presets bring the plugins' augmentations: these members are typed, not any.
const server = await createServer({ preset: '@echostream/preset-realtime' })
server.rpc.handle('add', ({ a, b }: { a: number; b: number }) => a + b)
server.events.broadcast('tick', { n: 1 })
server.streams.handle('audio', async (stream) => {
  for await (const frame of stream) frame.seq satisfies number
})
const now: number = server.clock.now()
const client = await createClient({ preset: '@echostream/preset-lan' })
const found = client.discovery.discover('chat', { timeoutMs: 10 })
// @ts-expect-error not a kernel member: proves the kernel type is not any
server.notAMember()
// @ts-expect-error clock.now() returns a number
const wrong: string = server.clock.now()
const meter = defineStream<Uint8Array>('meter', async (stream) => {
  for await (const frame of stream) frame.data satisfies Uint8Array
})
const frame = null as unknown as StreamFrame<number>
export { fragments, plugins, host, preset, now, found, wrong, meter, frame, EchoError, createApp, PRESETS }
`

  const typecheck = async (skipLibCheck: boolean) => {
    const dir = join(project, skipLibCheck ? 'types-app' : 'types-strict')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'all.ts'), TYPES)
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck, types: ['node'] }, files: ['all.ts'] }),
    )
    return processes.run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { cwd: dir, env, timeoutMs: 90_000 })
  }

  it("a .ts file importing every package type-checks with the workspace's TypeScript (skipLibCheck, as apps build)", async () => {
    const result = await typecheck(true)
    expect(result.code, result.stdout).toBe(0)
  })

  // tsc over every package's declarations takes ~27 s alone on this machine, more under the full suite.
  it('the published declarations themselves type-check (skipLibCheck: false)', { timeout: 120_000 }, async () => {
    const result = await typecheck(false)
    expect(result.code, result.stdout).toBe(0)
  })
})
