/**
 * The `echostream` CLI as a separate process, from the built `dist/` (the test command builds
 * first). `cliEnv` removes the loader's `development` condition so the published code path is
 * the one under test. Shared by test/integration/cli*.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, symlinkSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { onCleanup } from './fixtures.js'

export const WORKSPACE = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI = join(WORKSPACE, 'kernel', 'node', 'bin', 'echostream.js')

export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  delete env.ECHOSTREAM_CONDITIONS
  delete env.NODE_OPTIONS
  delete env.ECHOSTREAM_DEVTOOLS_TOKEN
  return { ...env, ...extra }
}

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export function run(args: string[], cwd: string, env = cliEnv(), timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`echostream ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

export interface Started {
  child: ChildProcess
  url: string
  output: () => { stdout: string; stderr: string }
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** `echostream start` (or `command` with `args`), resolved once it printed "listening on ws://…". */
export async function startServer(cwd: string, args: string[] = [], env = cliEnv(), command: { file: string; args: string[] } = { file: process.execPath, args: [CLI, 'start'] }): Promise<Started> {
  const child = spawn(command.file, [...command.args, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  onCleanup(() => child.kill('SIGKILL'))
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stdout}\n${stderr}`)), 30_000)
    child.stdout!.on('data', () => {
      const match = stdout.match(/listening on (wss?:\/\/[^\s"]+)/)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    void exited.then(({ code }) => reject(new Error(`server exited early (${code}):\n${stdout}\n${stderr}`)))
  })
  return { child, url, exited, output: () => ({ stdout, stderr }) }
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createNetServer()
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createNetServer()
    probe.once('error', () => resolve(true))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)))
  })
}

/** Makes workspace packages resolvable from a temp folder, as an installed app would have them. */
export function linkWorkspace(dir: string, names = ['kernel', 'node', 'preset-default', 'preset-minimal']): string {
  mkdirSync(join(dir, 'node_modules', '@echostream'), { recursive: true })
  for (const name of names) {
    symlinkSync(join(WORKSPACE, 'test', 'node_modules', '@echostream', name), join(dir, 'node_modules', '@echostream', name), 'dir')
  }
  return dir
}
