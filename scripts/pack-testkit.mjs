// Process helpers for the packing tests (test/integration/create*.test.ts, pack*.test.ts): commands
// run the way a user's shell runs them (none of vitest's, pnpm's or the test setup's variables),
// npm kept offline with its own cache and an unreachable registry, each command in its own process
// group so that it and everything it started can be ended by that group's id.
import { spawn } from 'node:child_process'

/** Variables a user's shell would not have: vitest's, pnpm's and npm's script variables, the test setup's, tsx's. */
const INHERITED_NOT = /^(VITEST|npm_|ECHOSTREAM_|PNPM_|TSX_)/i

/**
 * The environment of a command as a user would run it, npm offline: `npmCache` (a fresh folder
 * proves no cached package is needed), an unreachable registry on loopback so any attempt to
 * reach one fails at once, no audit/fund/update checks. `extra` is added last.
 */
export function userEnv(npmCache, extra = {}) {
  const env = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (INHERITED_NOT.test(key) || key === 'NODE_OPTIONS' || key === 'PORT') continue
    env[key] = value
  }
  return {
    ...env,
    NO_COLOR: '1',
    npm_config_cache: npmCache,
    npm_config_offline: 'true',
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...extra,
  }
}

/** Commands started by one test file; `killAll()` ends what is still running (by process group id). */
export class Processes {
  #children = new Set()

  /** Sends `signal` to the child's process group (it was spawned detached, so it leads one). */
  kill(child, signal = 'SIGKILL') {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(-child.pid, signal)
    } catch {}
  }

  killAll() {
    for (const child of this.#children) this.kill(child)
    this.#children.clear()
  }

  spawn(command, args, options) {
    const child = spawn(command, args, { ...options, detached: true })
    this.#children.add(child)
    child.on('close', () => this.#children.delete(child))
    return child
  }

  /** Runs a command to completion: `{ code, stdout, stderr }` (a non-zero exit resolves too; a timeout rejects). */
  run(command, args, { cwd, env, input = '', timeoutMs = 120_000 }) {
    return new Promise((resolve, reject) => {
      const child = this.spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      child.stderr.on('data', (chunk) => (stderr += chunk))
      const timer = setTimeout(() => {
        this.kill(child)
        reject(new Error(`${command} ${args.join(' ')} took longer than ${timeoutMs} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`))
      }, timeoutMs)
      child.on('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr })
      })
      child.stdin.end(input)
    })
  }

  /**
   * Starts a server command and resolves once its output shows the URL (`listening on ws://…`)
   * and the plugin list. `stop()` sends SIGTERM to its process group and waits for it to exit.
   */
  serve(command, args, { cwd, env, timeoutMs = 30_000 }) {
    return new Promise((resolve, reject) => {
      const child = this.spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      const exited = new Promise((r) => child.on('close', (code) => r(code)))
      const timer = setTimeout(() => {
        this.kill(child)
        reject(new Error(`${command} ${args.join(' ')} printed no URL within ${timeoutMs} ms:\n${output}`))
      }, timeoutMs)
      const onData = (chunk) => {
        output += chunk
        const match = /listening on (wss?:\/\/\S+)/.exec(output)
        if (match && /plugins: .*\n/.test(output)) {
          clearTimeout(timer)
          child.stdout.off('data', onData)
          child.stdout.on('data', (c) => (output += c))
          resolve({
            url: match[1],
            plugins: /plugins: (.*)\n/.exec(output)[1].split(', ').map((p) => p.replace(/@[^@]+$/, '')),
            output: () => output,
            stop: async () => {
              this.kill(child, 'SIGTERM')
              const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 15_000))])
              this.kill(child)
              return { code, output }
            },
          })
        }
      }
      child.stdout.on('data', onData)
      child.stderr.on('data', (chunk) => (output += chunk))
      void exited.then((code) => {
        clearTimeout(timer)
        reject(new Error(`${command} ${args.join(' ')} exited ${code} before it listened:\n${output}`))
      })
    })
  }
}

/** Throws with the command's whole output unless it exited 0. */
export function expectOk(result, what) {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`)
  return result
}
