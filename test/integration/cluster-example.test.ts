/**
 * examples/cluster-3-nodes as a newcomer runs it (`pnpm start` there): one command starts its own
 * redis-server, three node processes and a client; the client's node is SIGKILLed and the client
 * resumes the same session on another node with every tick once, in order.
 */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { onCleanup } from '../helpers/fixtures.js'

const here = dirname(fileURLToPath(import.meta.url))
const EXAMPLE = join(here, '..', '..', 'examples', 'cluster-3-nodes')

describe('examples/cluster-3-nodes', () => {
  it('starts redis and three nodes, survives the death of the client’s node, and cleans up', async () => {
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', 'demo.ts'], { cwd: EXAMPLE, env: { ...process.env, DEMO_SECONDS: '3', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    onCleanup(() => child.kill('SIGKILL'))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code, `${stdout}\n${stderr}`).toBe(0)
    expect(stdout).toMatch(/--- killing node a \(SIGKILL\) ---/)
    expect(stdout).toMatch(/\[b\] took over session/)
    expect(stdout).toMatch(/client: resumed on node b/)
    expect(stdout).toMatch(/summary: \d+ ticks received, in order with no gap and no repeat; sent \d+ chats; failover a -> b/)
    expect(stdout).toMatch(/same session: true/)
  })
})
