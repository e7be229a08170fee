/**
 * `create-echostream` end to end, with real processes and no registry (issue 6, must show 1): the
 * workspace is built and packed once (scripts/pack-all.mjs, shared with the other packing tests);
 * for each preset, `npx create-echostream` (installed from its own tarball) writes an app into a
 * temp folder with `--from` the packed tarballs, `npm install --offline` installs it from them
 * (with an empty npm cache and an unreachable registry), `npm start` serves, `npm run client` talks
 * to it, and the app's own `npm test` and `npm run typecheck` pass. The lan app keeps mDNS on
 * 127.0.0.1:5354 through the variables its config reads.
 *
 * The four preset cases run concurrently (npm install waits on the disk more than on the CPU).
 * About a minute, plus the packing when the workspace changed; ECHOSTREAM_SKIP_PACK_TESTS=1 skips it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

beforeAll(async () => {
  if (SKIP) return
  packed = await packAllCached()
  work = mkdtempSync(join(tmpdir(), 'echostream-create-'))
  mkdirSync(join(work, 'npm-cache'))
  env = userEnv(join(work, 'npm-cache'))
}, 240_000)

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
        await processes.run('npx', ['--yes', '--package', tarball('create-echostream'), 'create-echostream', name, '--preset', c.preset, '--from', packed.out], { cwd: work, env, timeoutMs: 60_000 }),
        'npx create-echostream',
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
        const stopped = await server.stop()
        expect(stopped.output).toContain('SIGTERM: draining and stopping')
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

  it.skipIf(!existsSync('/usr/bin/script'))('asks for the name and the preset when stdin is a terminal', async () => {
    // `script` (util-linux) gives the command a pseudo-terminal; each answer is typed when its prompt appears.
    const child = processes.spawn('script', ['-qec', `${process.execPath} ${CREATE_BIN} --from ${packed.out}`, '/dev/null'], { cwd: work, env, stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    const answers: Array<[RegExp, string]> = [
      [/App name \(folder\): \[echostream-app\]/, 'asked-app\r'],
      [/Preset \(number or name\): \[default\]/, '4\r'],
    ]
    child.stdout!.on('data', (chunk) => {
      output += chunk
      while (answers.length && answers[0]![0].test(output)) child.stdin!.write(answers.shift()![1])
    })
    const code = await new Promise<number | null>((r) => child.on('close', r))
    expect(code, output).toBe(0)
    expect(output).toContain('4. realtime')
    expect(readFileSync(join(work, 'asked-app/echostream.config.ts'), 'utf8')).toContain("preset: '@echostream/preset-realtime'")
    expect(existsSync(join(work, 'asked-app/handlers/meter.ts'))).toBe(true)
  })
})
