// Runs the example end to end with real processes: `echostream start` on this folder's config,
// then two clients (clocks offset by +3 s and −2 s) that stream a tone to it, then SIGTERM to the
// server. Exits 0 only if the server's summary says the two streams were aligned within 2 ms.
// AUDIO_SECONDS (default 5) sets the length of the audio.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const nodeDir = dirname(require.resolve('@echostream/node/package.json'))
const cli = join(nodeDir, 'bin', 'echostream.js')
const tsx = require.resolve('tsx/cli')
const BOUND_MS = 2
const SUMMARY = /alignment error p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms \(frames (\d+), pairs (\d+)[^)]*\) — (OK|FAIL)/
const clients = [
  { name: 'a', offsetMs: 3000, toneHz: 440 },
  { name: 'b', offsetMs: -2000, toneHz: 660 },
]

if (!existsSync(join(nodeDir, 'dist', 'cli.js'))) {
  console.error('The workspace is not built: run `pnpm build` (tsc -b) at the workspace root first.')
  process.exit(1)
}

const children = []
/** Spawns a child whose output is printed line by line behind `label |`. */
function run(label, args, env = process.env) {
  const child = spawn(process.execPath, args, { cwd: here, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const lines = []
  const listeners = []
  let partial = ''
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop()
    for (const line of parts) {
      lines.push(line)
      process.stdout.write(`${label} | ${line}\n`)
      for (const listener of listeners) listener(line)
    }
  })
  child.stderr.on('data', (chunk) => process.stderr.write(`${label} | ${chunk}`))
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)))
  /** Resolves with the first line (seen or to come) matching `re`; rejects if the child exits first. */
  const waitFor = (re, what) =>
    new Promise((resolve, reject) => {
      const seen = lines.find((line) => re.test(line))
      if (seen) return resolve(seen.match(re))
      listeners.push((line) => {
        if (re.test(line)) resolve(line.match(re))
      })
      exited.then((code) => reject(new Error(`${label} exited (${code}) before ${what}`)))
    })
  return { child, exited, waitFor }
}

function stopAll() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}
process.on('SIGINT', () => {
  stopAll()
  process.exit(130)
})
// Start-up, sync and the 1 s lead take ~5 s; a run that takes 40 s more than its audio is stuck.
const watchdogMs = (Number(process.env.AUDIO_SECONDS ?? 5) + 40) * 1000
const watchdog = setTimeout(() => {
  console.error(`demo: no summary within ${watchdogMs / 1000} s; stopping everything`)
  stopAll()
  process.exit(1)
}, watchdogMs)

let ok = false
try {
  const server = run('server', [cli, 'start'])
  const [, url] = await server.waitFor(/listening on (wss?:\/\/\S+)/, 'listening')
  const running = clients.map((c) => run(`client ${c.name}`, [tsx, 'client.ts', url, '--source', c.name, `--offset-ms=${c.offsetMs}`, `--tone-hz=${c.toneHz}`]))
  const summary = server.waitFor(SUMMARY, 'the summary')
  // A client that fails ends the demo at once (its error is on stderr above).
  const codes = await Promise.all(
    running.map((c, i) =>
      c.exited.then((code) => {
        if (code !== 0) throw new Error(`client ${clients[i].name} exited with ${code}`)
        return code
      }),
    ),
  )
  // The server prints the summary once both streams are played out (80 ms after their end).
  const match = await Promise.race([summary, new Promise((_, reject) => setTimeout(() => reject(new Error('no summary 5 s after the clients exited')), 5000))])
  server.child.kill('SIGTERM')
  const serverCode = await server.exited
  const [, p50, p99, max, frames, pairs, verdict] = match
  const line = match.input
  ok = verdict === 'OK' && Number(max) < BOUND_MS && codes.every((c) => c === 0) && serverCode === 0
  console.log(`\nclients exited ${codes.join(' and ')}, server stopped with ${serverCode}`)
  console.log(line.replace(/^\[audio\] /, ''))
  if (!ok) console.log(`demo: FAILED (verdict ${verdict}, max ${max} ms, p50 ${p50}, p99 ${p99}, ${pairs} pairs of ${frames} frames)`)
} catch (error) {
  console.error(`demo: ${error.message}`)
} finally {
  clearTimeout(watchdog)
  stopAll()
}
process.exit(ok ? 0 : 1)
