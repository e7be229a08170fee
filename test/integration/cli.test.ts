/**
 * The `echostream` CLI as users run it: separate processes, the built `dist/` (the test command
 * builds first), configs on disk. The loader's `development` condition is removed from the child
 * environment so the published code path is the one under test.
 */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { onCleanup, tempDir, until } from '../helpers/fixtures.js'
import { cliEnv, freePort, isListening, linkWorkspace, run, startServer as start, type Run } from '../helpers/cli.js'

const here = dirname(fileURLToPath(import.meta.url))
const WORKSPACE = join(here, '..', '..')
const EXAMPLE = join(WORKSPACE, 'examples', 'simple-rpc')
const SLOW = join(here, '..', 'fixtures', 'cli-slow')

describe('echostream CLI', () => {
  it('start serves the example config, call gets answers, SIGTERM exits 0 without a stack trace', async () => {
    const server = await start(EXAMPLE)
    await until(() => server.output().stdout.includes('plugins:'), 5000, 'the plugin list')
    expect(server.output().stdout).toMatch(/plugins: transport-ws@\d+\.\d+\.\d+, codec-msgpack@[\d.]+, rpc@[\d.]+, events@[\d.]+/)

    const ok = await run(['call', 'math.add', '{"a":2,"b":40}', '--url', server.url], EXAMPLE)
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toBe(42)

    const invalid = await run(['call', 'math.add', '{"a":"x","b":1}', '--url', server.url], EXAMPLE)
    expect(invalid.code).toBe(1)
    expect(invalid.stderr).toMatch(/^E_INVALID_PARAMS: /m)

    const missing = await run(['call', 'no.such', '--url', server.url], EXAMPLE)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^E_METHOD_NOT_FOUND: /m)
    expect(missing.stderr).not.toMatch(/\n\s+at /)

    server.child.kill('SIGTERM')
    const { code, signal } = await server.exited
    expect(signal).toBeNull()
    expect(code).toBe(0)
    expect(server.output().stderr).not.toMatch(/\n\s+at /)
  })

  it('call against nothing fails with E_CLOSED and exit code 1', async () => {
    const port = await freePort()
    const result = await run(['call', 'math.add', '{}', '--url', `ws://127.0.0.1:${port}`], EXAMPLE)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^E_CLOSED: Cannot connect to ws:\/\/127\.0\.0\.1:\d+/m)
  })

  it('inspect prints the plugin order, sources and validated options', async () => {
    const result = await run(['inspect', '--json'], EXAMPLE)
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as { plugins: Array<{ name: string; options: Record<string, unknown> }>; handlers: Array<{ handlers: string[] }> }
    expect(report.plugins.map((p) => p.name)).toEqual(['transport-ws', 'codec-msgpack', 'rpc', 'events'])
    // Defaults from the schema are applied, and ${PORT:-0} was substituted as a number.
    expect(report.plugins[0]!.options).toMatchObject({ port: 0, host: '127.0.0.1', maxPayload: 1048576 })
    expect(report.handlers.flatMap((h) => h.handlers)).toEqual(expect.arrayContaining(['rpc math.add', 'event chat.join']))
  })

  it('${VAR:-default} substitution, --print-config, and an unset required variable named in the error', async () => {
    const dir = tempDir({
      'echostream.config.json': JSON.stringify({
        preset: '@echostream/preset-minimal',
        options: { 'transport-ws': { port: '${ECHO_TEST_PORT:-4321}', host: '${ECHO_TEST_HOST:?the interface to bind}' } },
      }),
    })
    const linked = linkWorkspace(dir)
    const printed = await run(['start', '--print-config'], linked, cliEnv({ ECHO_TEST_HOST: '127.0.0.1' }))
    expect(printed.code).toBe(0)
    const config = JSON.parse(printed.stdout) as { plugins: Array<{ name: string; options: Record<string, unknown> }> }
    expect(config.plugins.find((p) => p.name === 'transport-ws')!.options).toMatchObject({ port: 4321, host: '127.0.0.1' })

    const unset = await run(['start', '--print-config'], linked)
    expect(unset.code).toBe(1)
    expect(unset.stderr).toContain('ECHO_TEST_HOST is not set (the interface to bind)')
  })

  it('a config with three problems prints all three and exits non-zero without binding its port', async () => {
    const port = await freePort()
    const dir = tempDir({
      'echostream.config.json': JSON.stringify({
        preset: '@echostream/preset-default',
        plugins: ['./no-such-plugin.js'],
        options: { 'transport-ws': { port, hots: 'x' }, rpc: { defaultTimeoutMs: 'soon' } },
      }),
    })
    const result = await run(['start'], linkWorkspace(dir))
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/E_CONFIG: The config has 3 problems/)
    expect(result.stderr).toContain("Cannot resolve plugin './no-such-plugin.js'")
    expect(result.stderr).toContain("unknown option 'options['transport-ws'].hots'")
    expect(result.stderr).toContain("'options['rpc'].defaultTimeoutMs' must be integer")
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(await isListening(port)).toBe(false)
  })

  it('a broken config file makes start exit non-zero with the loader message', async () => {
    const dir = tempDir({ 'echostream.config.mjs': 'export default { preset: "@echostream/preset-default", options: { "transport-ws": { port: "eighty" } } }\n' })
    const result = await run(['start'], linkWorkspace(dir))
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/E_CONFIG: .*plugin 'transport-ws'.*'options\['transport-ws'\]\.port' must be integer, got "eighty"/)
  })

  it('SIGTERM during 100 in-flight slow RPCs: all complete before the drain deadline, then exit 0', { timeout: 45_000 }, async () => {
    const server = await start(SLOW, ['--drain-timeout', '10000'], cliEnv({ SLOW_MS: '1500' }))
    // A client in another process, so the server really drains sockets it does not share with us.
    const clientScript = `
      import { createClient } from '@echostream/node'
      const client = await createClient({ preset: '@echostream/preset-default', url: process.argv[1] })
      await client.start()
      const calls = Array.from({ length: 100 }, (_, n) => client.rpc.request('slow', { n }, { timeoutMs: 20000 }).then((r) => ({ ok: r === n }), (e) => ({ code: e.code })))
      const results = await Promise.all(calls)
      console.log(JSON.stringify(results))
      await client.stop().catch(() => {})
    `
    const client = spawn(process.execPath, ['--input-type=module', '-e', clientScript, server.url], { cwd: SLOW, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    // Listen for the exit now: the client may finish before the server does.
    const clientExited = new Promise((resolve) => client.on('exit', resolve))
    onCleanup(() => client.kill('SIGKILL'))
    let out = ''
    let err = ''
    client.stdout.on('data', (d) => (out += d))
    client.stderr.on('data', (d) => (err += d))
    // SIGTERM only once the server is running all 100 handlers: they are really in flight.
    await until(() => (server.output().stdout.match(/^handling \d+$/gm) ?? []).length === 100, 30_000, `100 handlers running (client: ${out} ${err})`)
    const sigtermAt = Date.now()
    server.child.kill('SIGTERM')
    const { code } = await server.exited
    const drainedInMs = Date.now() - sigtermAt
    await clientExited
    const results = JSON.parse(out.split('\n').find((l) => l.startsWith('['))!) as Array<{ ok?: boolean; code?: string }>
    expect(results).toHaveLength(100)
    expect(results.every((r) => r.ok === true)).toBe(true)
    expect(code).toBe(0)
    // It waited for the handlers (≈1.5 s) and not for the whole deadline.
    expect(drainedInMs).toBeLessThan(10_000)
    expect(server.output().stdout).toContain('SIGTERM: draining and stopping')
  })
})


describe('examples/simple-rpc (what `pnpm demo` runs)', () => {
  it('runs server and client as processes: RPC both ways, errors with codes, events, clean stop', { timeout: 90_000 }, async () => {
    const result = await new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, ['demo.mjs'], { cwd: EXAMPLE, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
      onCleanup(() => child.kill('SIGKILL'))
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('error', reject)
      child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }))
    })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    for (const line of [
      'client | math.add(2, 3) = 5',
      'client | math.divide(1, 0) failed as expected: E_DIVIDE_BY_ZERO',
      "client | math.add('two', 3) rejected: E_INVALID_PARAMS",
      'client | math.countTo(1000) with a 100 ms deadline: E_TIMEOUT',
      'client | server event chat.joined: {"room":"lobby","name":"ada"}',
      'client | server event chat.message: {"room":"lobby","from":"ada","text":"hello, echostream"}',
      'client exited 0, server stopped with 0',
    ]) {
      expect(result.stdout).toContain(line)
    }
  })
})
