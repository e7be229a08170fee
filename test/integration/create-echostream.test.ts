/**
 * `create-echostream` end to end, with real processes and no registry (issue 6, must show 1): the
 * workspace is built and packed once (scripts/pack-all.mjs, shared with the other packing tests);
 * for each preset, `create-echostream` (installed offline from its own tarball) writes an app into a
 * temp folder with `--from` the packed tarballs, `npm install --offline` installs it from them
 * (with an empty npm cache and an unreachable registry), `npm start` serves, `npm run client` talks
 * to it, and the app's own `npm test` and `npm run typecheck` pass. The lan app keeps mDNS on
 * 127.0.0.1:5354 through the variables its config reads.
 *
 * The four preset cases run concurrently (npm install waits on the disk more than on the CPU).
 * About a minute, plus the packing when the workspace changed; ECHOSTREAM_SKIP_PACK_TESTS=1 skips it.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packAllCached, type Packed } from '../../scripts/pack-all.mjs'
import { expectOk, Processes, userEnv } from '../../scripts/pack-testkit.mjs'

const WORKSPACE = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const CREATE_BIN = join(WORKSPACE, 'presets/create-echostream/bin/create-echostream.js')
const SKIP = Boolean(process.env.ECHOSTREAM_SKIP_PACK_TESTS)

const processes = new Processes()
let packed: Packed
let work: string
let env: NodeJS.ProcessEnv
/** The `create-echostream` bin installed from its packed tarball. */
let createFromTarball: string

beforeAll(async () => {
  if (SKIP) return
  packed = await packAllCached()
  work = mkdtempSync(join(tmpdir(), 'echostream-create-'))
  mkdirSync(join(work, 'npm-cache'))
  env = userEnv(join(work, 'npm-cache'))
  // create-echostream itself, installed offline from its tarball with its dependencies (@clack/prompts,
  // semver, validate-npm-package-name) from the packed deps/, as a user without a registry would.
  const tools = join(work, 'tools')
  mkdirSync(tools)
  const spec = (file: string) => `file:${join(packed.out, file)}`
  const overrides = Object.fromEntries(Object.entries({ ...packed.manifest.packages, ...packed.manifest.deps }).map(([name, { file }]) => [name, spec(file)]))
  writeFileSync(join(tools, 'package.json'), JSON.stringify({ name: 'tools', private: true, dependencies: { 'create-echostream': overrides['create-echostream'] }, overrides }))
  expectOk(await processes.run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: tools, env, timeoutMs: 120_000 }), 'npm install create-echostream (offline, from its tarball)')
  createFromTarball = join(tools, 'node_modules/.bin/create-echostream')
}, 360_000)

// Each test stops its own server in a finally and every command ends on its own or on its
// timeout; this ends whatever a failed test left behind. (Not afterEach: the preset cases run concurrently.)
afterAll(() => {
  processes.killAll()
  if (work) rmSync(work, { recursive: true, force: true })
})

const tarball = (name: string) => join(packed.out, packed.manifest.packages[name]!.file)

const LAN_ENV = { ECHOSTREAM_HOST: '127.0.0.1', ECHOSTREAM_MDNS_INTERFACE: '127.0.0.1', ECHOSTREAM_MDNS_PORT: '5354' }
const DEFAULT_PLUGINS = ['transport-ws', 'codec-msgpack', 'rpc', 'events']

const CASES = [
  { preset: 'default', plugins: DEFAULT_PLUGINS, handlers: ['greet.ts', 'chat.ts'], env: {}, client: ['Hello, echostream!', 'chat.message'], tests: 3 },
  { preset: 'minimal', plugins: ['transport-ws', 'codec-msgpack', 'rpc'], handlers: ['greet.ts'], env: {}, client: ['Hello, echostream!'], tests: 2 },
  { preset: 'lan', plugins: [...DEFAULT_PLUGINS, 'discovery-mdns'], handlers: ['greet.ts', 'chat.ts'], env: LAN_ENV, client: ['Hello, echostream!', 'chat.message'], tests: 3 },
  { preset: 'realtime', plugins: [...DEFAULT_PLUGINS, 'clock-sync', 'streams'], handlers: ['greet.ts', 'chat.ts', 'meter.ts'], env: {}, client: ['Hello, echostream!', 'chat.message', 'meter.level'], tests: 4 },
]

describe.skipIf(SKIP).concurrent('create-echostream: an app per preset, installed from packed tarballs without a registry', () => {
  for (const c of CASES) {
    it(`--preset ${c.preset}: writes the app; npm install --offline; npm start serves; npm run client; npm test; npm run typecheck`, async () => {
      const name = `app-${c.preset}`
      const app = join(work, name)
      const created = expectOk(
        await processes.run(createFromTarball, [name, '--preset', c.preset, '--from', packed.out], { cwd: work, env, timeoutMs: 60_000 }),
        'create-echostream (installed from its tarball)',
      )
      expect(created.stdout).toContain(`Created the ${c.preset} app ${name}`)

      const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'))
      expect(pkg.scripts).toMatchObject({ start: 'echostream start', client: 'tsx client.ts' })
      expect(Object.keys(pkg.dependencies).sort()).toEqual(['@echostream/kernel', '@echostream/node', `@echostream/preset-${c.preset}`, 'tsx'])
      expect(pkg.dependencies['@echostream/kernel']).toBe(`file:${relative(app, tarball('@echostream/kernel'))}`)
      expect(pkg.overrides.ws).toMatch(/^file:\.\.\/.*\/ws-[\d.]+\.tgz$/)
      for (const h of c.handlers) expect(existsSync(join(app, 'handlers', h)), h).toBe(true)
      expect(readFileSync(join(app, 'echostream.config.ts'), 'utf8')).toContain("port: '${PORT:-5000}'")

      expectOk(await processes.run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: app, env, timeoutMs: 150_000 }), 'npm install --offline')
      // What got installed is the published shape: dist/, no sources.
      expect(existsSync(join(app, 'node_modules/@echostream/kernel/dist/index.js'))).toBe(true)
      expect(existsSync(join(app, 'node_modules/@echostream/kernel/src'))).toBe(false)

      const appEnv = { ...env, PORT: '0', ...c.env }
      if (c.preset === 'default') {
        // The client with no server there: one line saying what failed and what to do, no stack.
        const alone = await processes.run(join(app, 'node_modules/.bin/tsx'), ['client.ts', 'ws://127.0.0.1:9'], { cwd: app, env: appEnv, timeoutMs: 60_000 })
        expect(alone.code).toBe(1)
        expect(alone.stderr.trim()).toMatch(/^E_CLOSED: Cannot connect to ws:\/\/127\.0\.0\.1:9: ECONNREFUSED\..* \(is the server running\? npm start\)$/)
        expect(alone.stdout).toBe('')
      }
      const server = await processes.serve('npm', ['start'], { cwd: app, env: appEnv, timeoutMs: 60_000 })
      try {
        expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
        expect(server.plugins).toEqual(c.plugins)
        // lan: no URL given; the client finds the server by mDNS (on loopback, through LAN_ENV).
        const client = expectOk(
          await processes.run('npm', ['run', 'client', ...(c.preset === 'lan' ? [] : ['--', server.url])], { cwd: app, env: appEnv, timeoutMs: 60_000 }),
          'npm run client',
        )
        expect(client.stdout).toContain(`connected to ${server.url}`)
        for (const text of c.client) expect(client.stdout).toContain(text)
      } finally {
        // SIGTERM to the process group (npm, its shell, the server): the server names its own
        // signal even though it also sees the shell die of it, drains once and stops.
        const stopped = await server.stop()
        expect(stopped.output).toContain('SIGTERM: draining and stopping')
        expect(stopped.output).not.toContain("(npm's shell) ended")
        expect(stopped.output).toContain('[echostream] stopped')
      }

      const test = expectOk(await processes.run('npm', ['test'], { cwd: app, env, timeoutMs: 90_000 }), 'npm test')
      expect(test.stdout).toMatch(/# fail 0\b/)
      expect(test.stdout).toMatch(new RegExp(`# pass ${c.tests}\\b`))

      expectOk(await processes.run('npm', ['run', 'typecheck'], { cwd: app, env, timeoutMs: 90_000 }), 'npm run typecheck')
    }, 240_000)
  }
})

describe.skipIf(SKIP)('create-echostream: the command line', () => {
  const create = (args: string[]) => processes.run(process.execPath, [CREATE_BIN, ...args], { cwd: work, env, timeoutMs: 30_000 })

  it('refuses a folder that is not empty; --force writes into it and keeps the other files', async () => {
    const dir = join(work, 'taken')
    mkdirSync(dir)
    writeFileSync(join(dir, 'notes.txt'), 'mine')
    const refused = await create(['taken', '--preset', 'minimal', '--from', packed.out])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('is not empty (notes.txt)')
    expect(refused.stderr).toContain('--force')
    expect(existsSync(join(dir, 'package.json'))).toBe(false)

    expectOk(await create(['taken', '--preset', 'minimal', '--force', '--from', packed.out]), 'create-echostream --force')
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine')
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies).toHaveProperty('@echostream/preset-minimal')
  })

  it('without a terminal and without --preset it writes the default preset; without --from it depends on ^ ranges', async () => {
    expectOk(await create(['plain']), 'create-echostream plain')
    const pkg = JSON.parse(readFileSync(join(work, 'plain/package.json'), 'utf8'))
    const range = (name: string) => `^${packed.manifest.packages[name]!.version}`
    expect(pkg.dependencies).toEqual({ '@echostream/kernel': range('@echostream/kernel'), '@echostream/node': range('@echostream/node'), '@echostream/preset-default': range('@echostream/preset-default'), tsx: '^4.20.0' })
    expect(pkg.overrides).toBeUndefined()
  })

  it('usage errors exit 2 (an unknown preset, no folder without a terminal); a bad name exits 1', async () => {
    const unknown = await create(['x', '--preset', 'huge'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("Unknown preset 'huge': use one of default, minimal, lan, realtime")
    const noFolder = await create([])
    expect(noFolder.code).toBe(2)
    expect(noFolder.stderr).toContain('Give the folder of the new app')
    const badName = await create(['Bad Name'])
    expect(badName.code).toBe(1)
    expect(badName.stderr).toContain("'Bad Name' cannot be a package name")
    expect(existsSync(join(work, 'Bad Name'))).toBe(false)
  })

  /** Runs create-echostream in a pseudo-terminal (`script`, util-linux), typing each answer when its prompt appears. */
  async function inTerminal(args: string, answers: Array<[RegExp, string]>): Promise<{ code: number | null; output: string }> {
    // A pty made by `script` has no size (0 columns) until one is set: the prompts would wrap every character.
    const child = processes.spawn('script', ['-qec', `stty cols 120 rows 40; ${process.execPath} ${CREATE_BIN} ${args}`, '/dev/null'], { cwd: work, env: { ...env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    const pending = [...answers]
    const onData = (chunk: Buffer) => {
      output += chunk
      while (pending.length && pending[0]![0].test(output)) {
        const [, keys] = pending.shift()!
        output += '\n<typed>\n'
        child.stdin!.write(keys)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    const code = await new Promise<number | null>((r) => child.on('close', r))
    return { code, output }
  }

  it.skipIf(!existsSync('/usr/bin/script'))('asks for the name and the preset (@clack/prompts) when stdin is a terminal', async () => {
    const { code, output } = await inTerminal(`--from ${packed.out}`, [
      [/App name/, 'asked-app\r'],
      // realtime is the 4th preset: three times down, then Enter.
      [/Preset[\s\S]*realtime/, '\x1b[B\x1b[B\x1b[B\r'],
    ])
    expect(code, output).toBe(0)
    expect(readFileSync(join(work, 'asked-app/echostream.config.ts'), 'utf8')).toContain("preset: '@echostream/preset-realtime'")
    expect(existsSync(join(work, 'asked-app/handlers/meter.ts'))).toBe(true)
  })

  it.skipIf(!existsSync('/usr/bin/script'))('Ctrl+C at a prompt: one line, exit 130, no stack, nothing written', async () => {
    const { code, output } = await inTerminal(`--from ${packed.out}`, [[/App name/, '\x03']])
    expect(code, output).toBe(130)
    expect(output).toContain('Cancelled: nothing was written.')
    expect(output).not.toMatch(/AbortError|\n\s+at /)
    expect(existsSync(join(work, 'echostream-app'))).toBe(false)
  })

  it.skipIf(!existsSync('/usr/bin/script'))('a name npm refuses (http) is refused at the prompt with the reason, then another is taken', async () => {
    const { code, output } = await inTerminal(`--from ${packed.out} --preset minimal`, [
      [/App name/, 'http\r'],
      [/http is a core module name/, '\x15named-app\r'], // Ctrl+U clears the line, then a good name
    ])
    // --preset given: with a terminal it still asks for the folder only when none was given.
    expect(code, output).toBe(0)
    expect(output).toContain("'http' cannot be a package name: http is a core module name")
    expect(JSON.parse(readFileSync(join(work, 'named-app/package.json'), 'utf8')).name).toBe('named-app')
  })

  it('a package name npm refuses (http) is refused with validate-npm-package-name\'s reason', async () => {
    const result = await create(['http', '--from', packed.out])
    expect(result.code).toBe(1)
    expect(result.stderr.trim()).toBe("'http' cannot be a package name: http is a core module name. Pick another name (or pass --name).")
    expect(existsSync(join(work, 'http'))).toBe(false)
  })
})

describe.skipIf(SKIP)('create-echostream --from: exactly what the project needs, or a list of what is missing', () => {
  const create = (args: string[]) => processes.run(process.execPath, [CREATE_BIN, ...args], { cwd: work, env, timeoutMs: 60_000 })

  /** A folder with links to some of the packed tarballs (and deps/). */
  function subset(name: string, keep: (file: string) => boolean): string {
    const dir = join(work, name)
    mkdirSync(join(dir, 'deps'), { recursive: true })
    for (const { file } of [...Object.values(packed.manifest.packages), ...Object.values(packed.manifest.deps)]) {
      if (keep(file)) symlinkSync(join(packed.out, file), join(dir, file))
    }
    return dir
  }

  it('uses only the closure of what the app needs: stray tarballs in the folder are not in package.json', async () => {
    expectOk(await create(['lean-app', '--preset', 'default', '--from', packed.out]), 'create-echostream --from')
    const pkg = JSON.parse(readFileSync(join(work, 'lean-app/package.json'), 'utf8'))
    const overridden = Object.keys(pkg.overrides)
    expect(overridden).toEqual(expect.arrayContaining(['@echostream/kernel', '@echostream/node', '@echostream/preset-default', '@echostream/plugin-transport-ws', '@echostream/plugin-rpc', 'ws', 'msgpackr', 'ajv', 'tsx', 'typescript', '@types/node']))
    // In the folder, but not needed by a default app: not used.
    for (const stray of ['@echostream/plugin-cluster', '@echostream/preset-lan', '@echostream/plugin-discovery-mdns', 'bonjour-service', 'ioredis', 'create-echostream', 'pino']) expect(overridden, stray).not.toContain(stray)
    expect(Object.values(pkg.overrides).every((spec) => typeof spec === 'string' && spec.startsWith('file:../'))).toBe(true)
  })

  it('a folder without some packages: exit 1, every missing one listed, nothing written, no registry range', async () => {
    const dir = subset('only-kernel', (file) => /^echostream-(kernel|node)-/.test(file))
    const result = await create(['partial-app', '--preset', 'default', '--from', dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`--from ${dir} does not have everything this project needs, so nothing was written:`)
    expect(result.stderr).toMatch(/ {2}- @echostream\/preset-default@\d+\.\d+\.\d+ for the new project\n/)
    expect(result.stderr).toMatch(/ {2}- tsx@\^4\.\d+\.\d+ for the new project\n/)
    expect(result.stderr).toMatch(/ {2}- ajv@\S+ for @echostream\/node@/)
    expect(result.stderr).toMatch(/ {2}- tapable@\S+ for @echostream\/kernel@/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(existsSync(join(work, 'partial-app'))).toBe(false)
  })

  it('our packages only at the exact version this starter was released with', async () => {
    const dir = subset('old-kernel', (file) => !/^echostream-kernel-/.test(file))
    // An older @echostream/kernel in the folder: right name, wrong version.
    const stage = join(work, 'stage-old-kernel', 'package')
    mkdirSync(stage, { recursive: true })
    writeFileSync(join(stage, 'package.json'), JSON.stringify({ name: '@echostream/kernel', version: '0.9.0' }))
    execFileSync('tar', ['-czf', join(dir, 'echostream-kernel-0.9.0.tgz'), '-C', dirname(stage), 'package'])
    const result = await create(['old-app', '--preset', 'minimal', '--from', dir])
    expect(result.code).toBe(1)
    const version = packed.manifest.packages['@echostream/kernel']!.version
    expect(result.stderr).toContain(`  - @echostream/kernel@${version} for the new project (the folder has 0.9.0)`)
    expect(existsSync(join(work, 'old-app'))).toBe(false)
  })
})
