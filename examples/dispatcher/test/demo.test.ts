/** The README's one command works: `pnpm --filter @echostream/example-dispatcher start` (demo.ts), shortened. */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))

describe('demo', () => {
  it('runs three workers, kills one, and every session gets every result once, in order', async () => {
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(here, '..', 'demo.ts')], {
      cwd: join(here, '..'),
      env: { ...process.env, DEMO_UTTERANCES: '8', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000)
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    clearTimeout(timer)
    expect(code, out).toBe(0)
    expect(out).toMatch(/--- kill -9 w\d/)
    for (const s of [0, 1, 2]) expect(out).toContain(`session ${s}: 8 results, each once, in order, every text right`)
    expect(out).toMatch(/^dispatcher_queue_depth 0$/m)
    expect(out).toMatch(/^dispatcher_worker_jobs_total\{worker="w1",outcome="ok"\} \d+$/m)
  }, 90_000)
})
