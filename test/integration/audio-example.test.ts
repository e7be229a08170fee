/**
 * examples/audio-stream-sync as a user runs it (`pnpm --filter @echostream/example-audio-stream-sync
 * start`): real processes — `echostream start` on the built `dist/` (the test command builds
 * first), two tsx clients whose clocks are +3 s and −2 s off — and the server's summary line says
 * the two streams were aligned by their synchronised timestamps within 2 ms.
 */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { onCleanup } from '../helpers/fixtures.js'

const here = dirname(fileURLToPath(import.meta.url))
const EXAMPLE = join(here, '..', '..', 'examples', 'audio-stream-sync')

/** The child runs the published code path: no `development` condition, no inherited loader flags. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra }
  delete env.ECHOSTREAM_CONDITIONS
  delete env.NODE_OPTIONS
  return env
}

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

function runDemo(env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['demo.mjs'], { cwd: EXAMPLE, env, stdio: ['ignore', 'pipe', 'pipe'] })
    // The demo stops its own children; this only catches a demo that hangs past the test timeout.
    onCleanup(() => child.kill('SIGINT'))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

describe('examples/audio-stream-sync (one command, real processes)', () => {
  it('aligns two streams from clients with clocks 5 s apart to within 2 ms, and reports the jitter buffer', { timeout: 60_000 }, async () => {
    const result = await runDemo(cliEnv())
    const output = `${result.stdout}\n${result.stderr}`
    expect(result.stderr, output).toBe('')
    expect(result.code, output).toBe(0)

    // The offsets are real: the clients' local clocks are seconds off the server's.
    expect(result.stdout).toMatch(/client a \| a: local clock \+(299\d|300\d)\.\d ms off server time/)
    expect(result.stdout).toMatch(/client b \| b: local clock −(199\d|200\d)\.\d ms off server time/)
    expect(result.stdout).toMatch(/their local clocks are (499\d|500\d)\.\d ms apart/)

    // Live reports while the audio plays: alignment and the jitter-buffer metrics of each stream.
    expect(result.stdout).toMatch(/server \| \[audio\] 1 s: alignment error p50 [\d.]+ ms, max [\d.]+ ms \(\d+ pairs\)/)
    expect(result.stdout).toMatch(/server \| \[audio\] {3}a: clock error [+−][\d.]+ ms, capture lateness .* \| jitter buffer: delivered \d+, late drops \d+, gaps \d+, delay 80\.0 ms \(p95 [\d.]+ ms\), depth \d+/)

    // The summary: 5 s = 250 frames per client, every error figure under 2 ms.
    const summary = result.stdout.match(/server \| \[audio\] alignment error p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms \(frames (\d+), pairs (\d+); [^)]*\) — OK \(< 2 ms\)/)
    expect(summary, output).not.toBeNull()
    const [, p50, p99, max, frames, pairs] = summary!.map(Number)
    expect(p50).toBeLessThan(2)
    expect(p99).toBeLessThan(2)
    expect(max).toBeLessThan(2)
    expect(frames).toBeGreaterThan(250)
    expect(pairs).toBeGreaterThanOrEqual(125)
    expect(result.stdout).toContain('clients exited 0 and 0, server stopped with 0')
  })
})
