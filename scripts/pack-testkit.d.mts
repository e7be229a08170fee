// Types of pack-testkit.mjs, for the TypeScript tests that import it.
import type { ChildProcess, SpawnOptions } from 'node:child_process'

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface Served {
  url: string
  /** Plugin names from the server's `plugins:` line, in setup order. */
  plugins: string[]
  output(): string
  stop(): Promise<{ code: number | null; output: string }>
}

export function userEnv(npmCache: string, extra?: Record<string, string>): NodeJS.ProcessEnv

export class Processes {
  kill(child: ChildProcess, signal?: NodeJS.Signals): void
  killAll(): void
  spawn(command: string, args: string[], options: SpawnOptions): ChildProcess
  run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<RunResult>
  serve(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Served>
}

export function expectOk(result: RunResult, what: string): RunResult
