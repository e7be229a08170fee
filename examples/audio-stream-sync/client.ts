/**
 * One audio source: a synthetic 48 kHz tone in 20 ms frames, captured on a schedule anchored to
 * the synchronised clock and streamed to the server with each frame's capture time as `wallTime`.
 * Usage: tsx client.ts ws://127.0.0.1:PORT --source a --offset-ms=3000 [--tone-hz=440]
 * (write negative offsets as --offset-ms=-2000)
 */
import { parseArgs } from 'node:util'
import { createClient } from '@echostream/node'
import type {} from '@echostream/preset-realtime'
import { FRAME_SAMPLES, SAMPLE_RATE, encodeFrame, median, monotonicUs, ms, signedMs, summary, toneFrame, type AudioMeta, type JoinResult, type Reference } from './lib/protocol.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    source: { type: 'string', default: 'a' },
    'offset-ms': { type: 'string', default: '0' },
    'tone-hz': { type: 'string', default: '440' },
  },
})
const url = positionals[0] ?? process.env.ECHOSTREAM_URL
if (!url) {
  console.error('usage: tsx client.ts ws://127.0.0.1:PORT --source a --offset-ms=3000 [--tone-hz=440]')
  process.exit(2)
}
const source = values.source!
const offsetMs = Number(values['offset-ms'])
const toneHz = Number(values['tone-hz'])

const client = await createClient({
  preset: '@echostream/preset-realtime',
  url,
  options: {
    'clock-sync': {
      // This side's clock is deliberately wrong by offsetMs: clock sync has to find the server's time.
      localOffsetMs: offsetMs,
      // The clock steps to the first probe's estimate, and by default (ntpd's 128 ms) slews every
      // later correction at ≤ 0.5 ms/s. On a busy machine that first probe can be 10 ms off (its
      // reply waited for a descheduled process), which would then take 20 s to slew away. A
      // capture client that needs alignment from its first frame steps anything above 1 ms
      // instead (chrony's `makestep` idea); loopback corrections after the burst are ~0.1 ms, so
      // nothing steps while audio flows.
      stepThresholdMs: 1,
    },
  },
})
await client.start()

// The connect burst: 8 probes, 100–250 ms apart. Then let the applied offset settle on the
// estimate (corrections under 1 ms slew at ≤ 0.5 ms/s), as an application would before capturing.
await client.clock.whenSynced({ timeoutMs: 20_000 })
for (let i = 0; i < 100; i++) {
  const r = client.clock.reading()
  if (Math.abs(r.offsetUs - r.estimatedOffsetUs) < 50) break
  await sleep(50)
}

// Measurement only: the true server time, from the machine's monotonic clock (lib/protocol.ts).
const ref = (await client.rpc.request('audio.reference')) as Reference
const truthOffsetUs = ref.serverUs - ref.monotonicUs
const trueServerUs = () => monotonicUs() + truthOffsetUs

/** Reads the synchronised clock and the true server time at (nearly) the same instant. */
function readClocks(): { wallTime: number; trueUs: number } {
  let best = { wallTime: 0, trueUs: 0, spread: Infinity }
  // A read interrupted by the scheduler is retried: the spread bounds the measurement error.
  for (let i = 0; i < 3 && best.spread > 20; i++) {
    const before = trueServerUs()
    const wallTime = client.clock.now()
    const after = trueServerUs()
    if (after - before < best.spread) best = { wallTime, trueUs: (before + after) / 2, spread: after - before }
  }
  return best
}

const r = client.clock.reading()
const local = client.clock.localNow() - trueServerUs()
const now = readClocks()
console.log(
  `${source}: local clock ${signedMs(local, 1)} off server time; synced after ${r.samples} probes: offset ${signedMs(r.offsetUs)}, rtt ${ms(r.rttUs)}, ` +
    `error now ${signedMs(now.wallTime - now.trueUs)}`,
)

const round = (await client.rpc.request('audio.join', { source, localOffsetMs: offsetMs, localErrorUs: local }, { timeoutMs: 30_000 })) as JoinResult
const meta: AudioMeta = { source, rate: SAMPLE_RATE, channels: 1, format: 's16le', frameSamples: FRAME_SAMPLES, startUs: round.startUs }
// Live media: a frame that cannot go out now is better dropped than queued behind.
const writer = await client.streams.open<Uint8Array>('audio', meta, { policy: 'drop-oldest' })
console.log(`${source}: round ${round.round} with ${round.sources.join(' and ')}: ${round.frames} frames from server time ${round.startUs} µs (in ${ms(round.startUs - client.clock.now(), 0)})`)

const pcm = new Int16Array(FRAME_SAMPLES)
const lateness: number[] = []
const clockErrors: number[] = []
for (let seq = 0; seq < round.frames; seq++) {
  // The schedule is anchored to the synchronised clock (not setInterval, which drifts): frame seq
  // is due at start + seq × 20 ms, server time.
  const dueUs = round.startUs + seq * round.frameUs
  await until(dueUs)
  if (writer.signal.aborted) throw writer.signal.reason // the server refused or cancelled the stream
  // "Capture": the frame's wallTime is the synchronised clock now, however late the timer fired.
  const { wallTime, trueUs } = readClocks()
  lateness.push(wallTime - dueUs)
  clockErrors.push(wallTime - trueUs)
  // 'drop-oldest' resolves at once; a failure shows on writer.signal, checked before the next frame.
  writer.write(encodeFrame(trueUs, toneFrame(seq, toneHz, pcm)), { wallTime }).catch(() => {})
}
await writer.end()
const late = summary(lateness)
const err = summary(clockErrors)
console.log(
  `${source}: sent ${round.frames} frames (${writer.stats().droppedFrames} dropped); capture lateness p50 ${ms(late.p50, 2)}, p99 ${ms(late.p99, 2)}; ` +
    `clock error p50 ${signedMs(median(clockErrors))}, |max| ${ms(err.max)}`,
)
await client.stop()

/** Waits until the synchronised clock reads `dueUs`: a timer for the bulk, the event loop for the last 0.2 ms. */
async function until(dueUs: number): Promise<void> {
  for (;;) {
    const remainingUs = dueUs - client.clock.now()
    if (remainingUs <= 0) return
    if (remainingUs > 200) await sleep(Math.max(1, Math.floor(remainingUs / 1000)))
    else await new Promise((resolve) => setImmediate(resolve))
  }
}

function sleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs))
}
