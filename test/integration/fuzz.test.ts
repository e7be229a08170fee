/**
 * The fuzz test (issue 10): ~20,000 hostile frames — every frame kind of every plugin with mutated
 * fields, extension types, cycles, declared-length and depth bombs, truncations, random bytes, text
 * frames, oversize messages, handshakes out of order, resumes with real and forged tokens, paused
 * and small readers, devtools sessions — over hundreds of raw connections to a real server process
 * (default preset + streams + clock-sync + reconnect + devtools), while well-behaved clients call
 * RPCs and receive broadcast ticks. The watchdog fails the run on a stall (over 1.5 s here, 1 s in the script) or a hang, a crash, an uncaught exception or
 * unhandled rejection in the server, a good call that fails or a tick it misses, a hostile session
 * that stops answering, or memory that grows (heap after GC, peak RSS). The generator lives in
 * test/helpers/fuzz-*.ts; `node scripts/fuzz.mjs --seed N --frames 100000` is the long run.
 *
 * The second block makes the server misbehave on purpose and checks that each watchdog path fires:
 * a fuzz test whose watchdog could not fail would prove nothing.
 */
import { describe, expect, it } from 'vitest'
import { activeGenerators } from '../helpers/fuzz-frames.js'
import { CASE_WEIGHTS } from '../helpers/fuzz-cases.js'
import { formatReport, problems, runFuzz } from '../helpers/fuzz-run.js'

/** A fixed seed (a failure replays with `node scripts/fuzz.mjs --seed 10 --frames 20000`); the script takes others. */
const SEED = 10

describe('fuzz: hostile peers against a real server process', () => {
  it('20,000 hostile frames: no stall, crash, uncaught error or memory growth; good clients lose nothing', { timeout: 150_000 }, async () => {
    // Stall threshold 1.5 s in the suite (other test files share the two cores; the worst lag seen
    // under a load average of 15 was 0.6 s); the script's default is 1 s.
    const report = await runFuzz({ seed: SEED, frames: 20_000, timeLimitMs: 90_000, stallMs: 1500 })
    console.log(formatReport(report))
    expect(problems(report)).toEqual([])
    // It ran, and reached what it is meant to reach.
    expect(report.framesSent).toBeGreaterThanOrEqual(20_000)
    expect(report.good.ok).toBeGreaterThan(100)
    expect(report.good.ticks).toBeGreaterThan(50)
    expect(report.probes.answered).toBeGreaterThan(100)
    for (const { kind } of activeGenerators()) expect(report.cases[`frame:${kind}`], `frame kind ${kind} was generated`).toBeGreaterThan(0)
    for (const name of Object.keys(CASE_WEIGHTS)) expect(Object.keys(report.cases).some((c) => c === name || c.startsWith(`${name}:`)), `case ${name} was generated`).toBe(true)
    for (const mode of ['normal', 'handshake', 'resume', 'paused', 'small-reader', 'odd-limits', 'slow-consumer', 'devtools']) expect(report.modes[mode], `connection mode ${mode}`).toBeGreaterThan(0)
    // The devtools paths were reached, not only refused: snapshots answered, updates pushed.
    expect(report.modes['devtools:snapshot'], 'devtools snapshots answered').toBeGreaterThan(0)
    expect(report.modes['devtools:update'], 'devtools updates pushed').toBeGreaterThan(0)
    expect(report.errorFrames.E_CODEC).toBeGreaterThan(1000)
    expect(report.errorFrames.E_PROTOCOL).toBeGreaterThan(1000)
    expect(report.serverCloses['1007']).toBeGreaterThan(0)
    expect(report.serverCloses['1009']).toBeGreaterThan(0)
  })
})

describe('fuzz: the watchdog catches a misbehaving server', () => {
  it('a 1.5 s stall, an unhandled rejection, an uncaught exception and a 64 MiB leak', { timeout: 90_000 }, async () => {
    const report = await runFuzz({ seed: 1, frames: 3000, connections: 4, goodClients: 1, sabotage: ['stall', 'reject', 'throw', 'leak'] })
    const kinds = report.server.failures.map((f) => f.kind)
    expect(kinds).toContain('stall')
    expect(kinds).toContain('unhandledRejection')
    expect(kinds).toContain('uncaughtException')
    const found = problems(report).join('\n')
    expect(found).toMatch(/stalled for 1[45]\d\d ms/)
    expect(found).toMatch(/sabotage: an unhandled rejection/)
    expect(found).toMatch(/sabotage: an uncaught exception/)
    expect(found).toMatch(/server heap after GC grew by (6\d|[7-9]\d)\.\d MiB/)
  })

  it('a hang (no heartbeat) and a crash', { timeout: 90_000 }, async () => {
    const hung = await runFuzz({ seed: 2, frames: 3000, connections: 4, goodClients: 1, sabotage: ['hang'] })
    expect(hung.server.failures.map((f) => f.kind)).toContain('hang')
    const crashed = await runFuzz({ seed: 3, frames: 3000, connections: 4, goodClients: 1, sabotage: ['exit'] })
    expect(crashed.server.failures.map((f) => f.kind)).toContain('crash')
    expect(problems(crashed).join('\n')).toMatch(/server crash: the server exited \(code 3/)
  })
})
