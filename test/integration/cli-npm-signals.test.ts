/**
 * Signals through `npm start` (issue 15, must show 4). npm runs the script with `sh -c` and
 * forwards SIGTERM to that shell only; Debian's dash does not exec a single command, so it stays
 * the server's parent and dies of the signal. The CLI notices (it watches its parent when npm
 * started it) and drains like on its own SIGTERM: the test sends SIGTERM to the npm process only
 * (not its group), then sees the server drain, say `stopped`, exit, and free its port. With the
 * script written `exec echostream start` the server gets the signal itself and npm exits 0 too.
 * SIGTERM to the whole group (Ctrl+C, docker stop, what create-echostream's test sends): the shell
 * dies of it and the server gets it too; the server reports its own SIGTERM, never "parent ended".
 */
import { spawn } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { onCleanup, tempDir, until } from '../helpers/fixtures.js'
import { CLI, cliEnv, freePort, isListening, linkWorkspace } from '../helpers/cli.js'

/** A user's shell: none of the test runner's npm/pnpm script variables. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = cliEnv()
  for (const key of Object.keys(env)) if (/^(npm_|pnpm_)/i.test(key)) delete env[key]
  return env
}

function app(port: number, script: string): string {
  const dir = linkWorkspace(
    tempDir({
      'package.json': JSON.stringify({ name: 'signal-app', private: true, scripts: { start: script }, echostream: { preset: '@echostream/preset-default', options: { 'transport-ws': { port } } } }),
    }),
  )
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true })
  symlinkSync(CLI, join(dir, 'node_modules', '.bin', 'echostream'))
  return dir
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function npmStart(dir: string, { group = false } = {}) {
  // group: npm leads its own process group (as a terminal's foreground job or a container's init does)
  const npm = spawn('npm', ['start'], { cwd: dir, env: npmEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: group })
  let output = ''
  npm.stdout.on('data', (d) => (output += d))
  npm.stderr.on('data', (d) => (output += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.on('exit', (code, signal) => resolve({ code, signal })))
  await until(() => /listening on ws:\/\/\S+ \(pid \d+\)/.test(output), 30_000, `the server's listening line (npm output: ${output})`)
  const serverPid = Number(/\(pid (\d+)\)/.exec(output)![1])
  onCleanup(() => {
    if (alive(serverPid)) process.kill(serverPid, 'SIGKILL')
    if (group) {
      try {
        process.kill(-npm.pid!, 'SIGKILL')
      } catch {
        // the group is gone
      }
    } else npm.kill('SIGKILL')
  })
  return { npm, serverPid, exited, output: () => output }
}

describe('echostream start through npm start', () => {
  it('SIGTERM to the npm process (its shell dies of it): the server drains, exits, and frees its port', { timeout: 60_000 }, async () => {
    const port = await freePort()
    const run = await npmStart(app(port, 'echostream start'))
    expect(run.serverPid).not.toBe(run.npm.pid)
    expect(await isListening(port)).toBe(true)

    run.npm.kill('SIGTERM') // the npm process only, as `kill <pid>` does
    await until(() => !alive(run.serverPid), 20_000, `the server (pid ${run.serverPid}) to exit`)
    expect(run.output()).toMatch(/draining and stopping/)
    expect(run.output()).toContain('[echostream] stopped') // printed right before exit(0)
    expect(run.output()).not.toMatch(/\n\s+at /)
    expect(await isListening(port)).toBe(false)
    await run.exited
  })

  it('with `exec echostream start` the signal reaches the server itself: server and npm exit 0', { timeout: 60_000 }, async () => {
    const port = await freePort()
    const run = await npmStart(app(port, 'exec echostream start'))
    run.npm.kill('SIGTERM')
    const { code, signal } = await run.exited
    expect(run.output()).toContain('SIGTERM: draining and stopping')
    expect(run.output()).toContain('[echostream] stopped')
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    expect(alive(run.serverPid)).toBe(false)
    expect(await isListening(port)).toBe(false)
  })

  it('SIGTERM to the whole process group (Ctrl+C, docker stop): the server reports its own SIGTERM, drains once, exits 0', { timeout: 60_000 }, async () => {
    // npm, its shell and the server all get the signal; the shell dies of it, so the server also
    // sees its parent gone. One event: the server names the signal it got and drains once (not
    // "parent ended" first and then "SIGTERM again: exiting without waiting", exit 1).
    const port = await freePort()
    const run = await npmStart(app(port, 'echostream start'), { group: true })
    process.kill(-run.npm.pid!, 'SIGTERM')
    await until(() => !alive(run.serverPid), 20_000, `the server (pid ${run.serverPid}) to exit`)
    await run.exited
    const output = run.output()
    expect(output).toContain('SIGTERM: draining and stopping')
    expect(output).not.toContain('parent process')
    expect(output).not.toContain('exiting without waiting')
    expect(output).toContain('[echostream] stopped')
    expect(await isListening(port)).toBe(false)
  })
})
