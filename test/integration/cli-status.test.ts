/**
 * `echostream status` and `inspect --url` against a real server process that loads
 * @echostream/plugin-devtools (issue 15, must show 4): the URL from the app's config, the token
 * from --token or ECHOSTREAM_DEVTOOLS_TOKEN, a summary that reflects a call this test made, the
 * whole snapshot with --json, and one coded line for a wrong or missing token.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/fixtures.js'
import { cliEnv, freePort, linkWorkspace, run, startServer } from '../helpers/cli.js'

const TOKEN = 'status-test-token-0123456789'

describe('echostream status against a server with the devtools plugin', () => {
  it('prints the summary and the JSON snapshot; inspect --url lists the running plugins; a bad token is E_UNAUTHORIZED', { timeout: 60_000 }, async () => {
    const port = await freePort()
    const dir = linkWorkspace(
      tempDir({
        'package.json': JSON.stringify({ name: 'status-app', version: '2.3.4', private: true }),
        'echostream.config.json': JSON.stringify({
          preset: '@echostream/preset-default',
          plugins: ['@echostream/plugin-devtools'],
          options: { 'transport-ws': { port }, devtools: { token: '${DEVTOOLS_TOKEN}', http: false } },
          handlers: ['./handlers/math.mjs'],
        }),
        'handlers/math.mjs': "import { defineRpc } from '@echostream/kernel'\nexport const add = defineRpc('math.add', ({ a, b }) => a + b)\n",
      }),
      ['kernel', 'node', 'preset-default', 'plugin-devtools'],
    )
    // The server's shell and the operator's have DEVTOOLS_TOKEN, which the config reads.
    const appEnv = cliEnv({ DEVTOOLS_TOKEN: TOKEN })
    const server = await startServer(dir, [], appEnv)
    const pid = server.child.pid!

    // Without the variable, the config cannot load: the error says it, and how to skip the config.
    const noVar = await run(['call', 'math.add', '{"a":1,"b":2}'], dir)
    expect(noVar.code).toBe(1)
    expect(noVar.stderr.trimEnd()).toMatch(/^E_CONFIG: .*DEVTOOLS_TOKEN is not set.*pass --url ws:\/\/HOST:PORT to skip it/)
    const called = await run(['call', 'math.add', '{"a":1,"b":2}'], dir, appEnv)
    expect(called.code, called.stderr).toBe(0)

    // An unknown method from outside the app: with a devtools token, suggestions from the methods the
    // server answered; without one, the message says why there are none.
    const elsewhere = linkWorkspace(tempDir(), ['preset-default'])
    const typo = await run(['call', 'math.ad', '{"a":1,"b":2}', '--url', server.url], elsewhere, cliEnv({ ECHOSTREAM_DEVTOOLS_TOKEN: TOKEN }))
    expect(typo.code).toBe(1)
    expect(typo.stderr.trimEnd()).toMatch(/^E_METHOD_NOT_FOUND: No handler for 'math\.ad' on the server.* Did you mean 'math\.add'\? \(from the methods the server answered recently\)$/)
    const noToken = await run(['call', 'math.ad', '--url', server.url], elsewhere)
    expect(noToken.code).toBe(1)
    expect(noToken.stderr).toContain('The server does not list its methods to clients')

    // The token: from the config's devtools options (here), --token, or ECHOSTREAM_DEVTOOLS_TOKEN.
    const human = await run(['status'], dir, appEnv)
    expect(human.code, human.stderr).toBe(0)
    const lines = human.stdout.trim().split('\n')
    expect(lines[0]).toMatch(new RegExp(`^status-app at ws://127\\.0\\.0\\.1:${port} — serving, pid ${pid}, up \\d+s, version 2\\.3\\.4, kernel \\d+\\.\\d+\\.\\d+$`))
    expect(lines[1]).toMatch(/^plugins: transport-ws@[\d.]+, codec-msgpack@[\d.]+, rpc@[\d.]+, events@[\d.]+, devtools@[\d.]+$/)
    expect(human.stdout).toMatch(/^sessions 1, rooms 0, streams 0$/m) // the status client itself
    expect(human.stdout).toMatch(/^methods: .*math\.add 1/m)

    const json = await run(['status', '--json', '--url', server.url], elsewhere, cliEnv({ ECHOSTREAM_DEVTOOLS_TOKEN: TOKEN }))
    expect(json.code, json.stderr).toBe(0)
    const snapshot = JSON.parse(json.stdout) as { server: { pid: number; url: string; draining: boolean; plugins: Array<{ name: string }> }; rates: { callsTotal: number } }
    expect(snapshot.server).toMatchObject({ pid, url: `ws://127.0.0.1:${port}`, draining: false })
    expect(snapshot.rates.callsTotal).toBeGreaterThanOrEqual(1)

    const inspect = await run(['inspect', '--url', server.url, '--token', TOKEN], join(dir, 'handlers'))
    expect(inspect.code, inspect.stderr).toBe(0)
    expect(inspect.stdout).toContain(`server: ws://127.0.0.1:${port} (status-app), pid ${pid}`)
    expect(inspect.stdout).toMatch(/^ {2}5\. devtools@[\d.]+$/m)

    const wrong = await run(['status', '--token', 'not-the-token-at-all'], dir, appEnv)
    expect(wrong.code).toBe(1)
    const wrongLines = wrong.stderr.trimEnd().split('\n')
    expect(wrongLines).toHaveLength(1)
    expect(wrongLines[0]).toMatch(/^E_UNAUTHORIZED: The server at ws:\/\/127\.0\.0\.1:\d+ refused the devtools token .*check the token/)

    const none = await run(['status', '--url', server.url], dir)
    expect(none.code).toBe(1)
    expect(none.stderr.trimEnd()).toMatch(/^E_UNAUTHORIZED: .*pass --token TOKEN or set ECHOSTREAM_DEVTOOLS_TOKEN/)
    expect(none.stderr).not.toMatch(/\n\s+at /)

    server.child.kill('SIGTERM')
    expect((await server.exited).code).toBe(0)
  })
})
