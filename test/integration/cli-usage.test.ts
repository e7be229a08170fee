/**
 * The `echostream` command line (issue 15, must show 4): help per command, usage errors at parse
 * time (exit 2, one line, no stack), "did you mean" for commands, plugin names and RPC methods,
 * `call` taking the URL from the app's config, the pid on start, --log-level/--log-format reaching
 * the observability plugin, and `status`/`inspect --url` against a server without the devtools
 * plugin. Real processes from the built dist/, configs on disk.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir, until } from '../helpers/fixtures.js'
import { cliEnv, freePort, linkWorkspace, run, startServer, WORKSPACE } from '../helpers/cli.js'

const EXAMPLE = join(WORKSPACE, 'examples', 'simple-rpc')
const STACK = /\n\s+at /

/** stderr is exactly one line starting with `code:`, and there is no stack trace. */
function oneLine(stderr: string, code: string): string {
  const lines = stderr.trimEnd().split('\n')
  expect(lines, stderr).toHaveLength(1)
  expect(lines[0]).toMatch(new RegExp(`^${code}: `))
  expect(stderr).not.toMatch(STACK)
  return lines[0]!
}

describe('echostream help', () => {
  it('`echostream help` lists the commands; `start --help` and `help call` show that command only', async () => {
    const help = await run(['help'], EXAMPLE)
    expect(help.code).toBe(0)
    for (const command of ['start', 'call', 'status', 'inspect']) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'))

    const start = await run(['start', '--help'], EXAMPLE)
    expect(start.code).toBe(0)
    expect(start.stdout).toContain('Usage: echostream start [options]')
    expect(start.stdout).toContain('--drain-timeout <ms>')
    expect(start.stdout).toContain('--log-format <format>')
    expect(start.stdout).not.toContain('--timeout <ms>')

    const call = await run(['help', 'call'], EXAMPLE)
    expect(call.code).toBe(0)
    expect(call.stdout).toContain('Usage: echostream call [options] <method> [params]')
    expect(call.stdout).not.toContain('--drain-timeout')
  })
})

describe('usage errors exit 2 with one line, checked before anything runs', () => {
  it('a bad number, a bad choice, an unknown flag, bad JSON, a missing argument; a misspelled command gets "did you mean"', async () => {
    const port = await freePort()
    const cases: Array<[string[], RegExp]> = [
      [['start', '--drain-timeout', 'abc'], /--drain-timeout takes a whole number of milliseconds/],
      // Fails at parse time (exit 2, E_USAGE), not after trying to connect (there is no server on this port).
      [['call', 'math.add', '{}', '--url', `ws://127.0.0.1:${port}`, '--timeout', 'abc'], /--timeout takes a whole number of milliseconds/],
      [['start', '--log-level', 'loud'], /Allowed choices are fatal, error, warn, info, debug, trace, silent/],
      [['start', '--log-format', 'xml'], /Allowed choices are json, pretty/],
      [['start', '--bogus'], /unknown option '--bogus'/],
      [['call', 'math.add', '{a:1}', '--url', `ws://127.0.0.1:${port}`], /params must be JSON/],
      [['call'], /missing required argument 'method'/],
      [['strat'], /unknown command 'strat' \(did you mean start\?\)/],
      [['inspekt'], /did you mean inspect\?/],
    ]
    for (const [args, expected] of cases) {
      const result = await run(args, EXAMPLE)
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2)
      expect(oneLine(result.stderr, 'E_USAGE')).toMatch(expected)
    }
  })

  it('call with no --url and no config to read it from: exit 2, says what to pass', async () => {
    const result = await run(['call', 'math.add'], tempDir())
    expect(result.code).toBe(2)
    expect(oneLine(result.stderr, 'E_USAGE')).toContain('pass --url ws://HOST:PORT')
  })
})

describe('did you mean: plugin names', () => {
  it('a misspelled plugin package or short name suggests the known name instead of `npm install <typo>`', async () => {
    const dir = linkWorkspace(
      tempDir({
        'echostream.config.json': JSON.stringify({ preset: '@echostream/preset-minimal', plugins: ['@echostream/plugin-evnets', 'transport-wss'], options: { 'transport-ws': { port: 0 } } }),
      }),
      ['kernel', 'node', 'preset-minimal', 'plugin-events'],
    )
    const result = await run(['start'], dir)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("Cannot resolve plugin '@echostream/plugin-evnets'")
    expect(result.stderr).toContain("did you mean '@echostream/plugin-events'? Fix the name in your config")
    expect(result.stderr).toContain("Cannot resolve plugin 'transport-wss'")
    expect(result.stderr).toContain("did you mean '@echostream/plugin-transport-ws'? Fix")
    expect(result.stderr).not.toContain('npm install @echostream/plugin-evnets')
    expect(result.stderr).not.toContain('npm install transport-wss')
    expect(result.stderr).not.toMatch(STACK)
  })
})

describe('a running server', () => {
  it("start prints its pid; call reads the URL from the app's config; an unknown method gets suggestions from the handler modules", async () => {
    const port = await freePort()
    const dir = linkWorkspace(
      tempDir({
        'echostream.config.json': JSON.stringify({ preset: '@echostream/preset-default', options: { 'transport-ws': { port } }, handlers: ['./handlers/math.mjs'] }),
        'handlers/math.mjs': "import { defineRpc } from '@echostream/kernel'\nexport const add = defineRpc('math.add', ({ a, b }) => a + b)\nexport const mul = defineRpc('math.multiply', ({ a, b }) => a * b)\n",
      }),
    )
    const server = await startServer(dir)
    expect(server.url).toBe(`ws://127.0.0.1:${port}`)
    expect(server.output().stdout).toContain(`listening on ws://127.0.0.1:${port} (pid ${server.child.pid})`)

    const ok = await run(['call', 'math.add', '{"a":2,"b":3}'], dir)
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toBe(5)

    const typo = await run(['call', 'math.ad', '{"a":2,"b":3}'], dir)
    expect(typo.code).toBe(1)
    const line = oneLine(typo.stderr, 'E_METHOD_NOT_FOUND')
    expect(line).toContain("No handler for 'math.ad' on the server")
    expect(line).toContain("Did you mean 'math.add'?")
    expect(line).not.toContain('math.multiply')

    // Elsewhere (no config): the server's error, and why there are no suggestions.
    const elsewhere = await run(['call', 'math.ad', '--url', server.url], EXAMPLE)
    expect(elsewhere.code).toBe(1)
    expect(oneLine(elsewhere.stderr, 'E_METHOD_NOT_FOUND')).toContain("Did you mean 'math.add'?") // the example's handler modules have it too

    // A server without the devtools plugin: status and inspect --url say to load it.
    for (const args of [['status'], ['inspect', '--url', server.url]]) {
      const result = await run(args, dir)
      expect(result.code, result.stderr).toBe(1)
      expect(oneLine(result.stderr, 'E_NO_DEVTOOLS')).toContain("add '@echostream/plugin-devtools' to its config")
    }

    server.child.kill('SIGTERM')
    expect((await server.exited).code).toBe(0)
    expect(server.output().stdout).toContain('[echostream] stopped')
  })

  it('--log-level and --log-format reach the observability plugin, over the level in the config', async () => {
    const dir = linkWorkspace(
      tempDir({
        'echostream.config.json': JSON.stringify({
          preset: '@echostream/preset-default',
          plugins: ['@echostream/plugin-observability'],
          options: { 'transport-ws': { port: 0 }, observability: { level: 'warn', port: 0 } },
        }),
      }),
      ['kernel', 'node', 'preset-default', 'plugin-observability'],
    )
    // The config says warn: no info lines from pino.
    const quiet = await startServer(dir)
    quiet.child.kill('SIGTERM')
    await quiet.exited
    expect(quiet.output().stdout).not.toContain('"msg":"listening"')

    // --log-level debug --log-format json: pino's JSON lines at debug, the CLI's own lines as JSON too.
    const json = await startServer(dir, ['--log-level', 'debug', '--log-format', 'json'])
    await until(() => json.output().stdout.includes('"msg":"listening"'), 10_000, "pino's listening line")
    json.child.kill('SIGTERM')
    expect((await json.exited).code).toBe(0)
    const lines = json.output().stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; pid: number })
    expect(lines.find((l) => l.msg === 'observability set up')?.level).toBe(20)
    expect(lines.find((l) => l.msg === 'listening')?.level).toBe(30)
    expect(lines.find((l) => l.msg.startsWith('listening on ws://'))).toMatchObject({ level: 30, pid: json.child.pid })

    // --log-format pretty: readable lines.
    const pretty = await startServer(dir, ['--log-level', 'info', '--log-format', 'pretty'])
    await until(() => /INFO.*listening/.test(pretty.output().stdout), 10_000, "pino-pretty's listening line")
    pretty.child.kill('SIGTERM')
    expect((await pretty.exited).code).toBe(0)
    expect(pretty.output().stdout).not.toContain('observability set up')
    expect(readFileSync(join(dir, 'echostream.config.json'), 'utf8')).toContain('"level":"warn"')
  })
})
