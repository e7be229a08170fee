/**
 * The server's state: one round at a time of two sources that start their tone at one agreed
 * instant (server time), stream it, and get aligned. Reports once a second while the audio plays
 * and prints the summary line when both streams have been played out.
 */
import { EchoError } from '@echostream/kernel'
import { Aligner, type PlayedFrame } from './aligner.js'
import { FRAME_US, median, ms, signedMs, summary, type AudioMeta, type JoinParams, type JoinResult } from './protocol.js'

/** The alignment error the example promises on loopback (the summary's verdict). */
export const BOUND_US = 2000
/**
 * The least share of the expected frame pairs that must have been measured for an OK: frames the
 * jitter buffer drops as late (a machine so loaded that a frame took > 80 ms) are reported as late
 * drops, and only make the measurement shorter.
 */
const MIN_PAIRED = 0.5

export interface RoomOptions {
  /** Seconds of audio per round. */
  seconds: number
  /** Time between the second join and the agreed start, ms: both clients must hear the answer first. */
  leadMs: number
  /** How long a round may run past its last frame before it is summarised anyway, ms. */
  graceMs: number
  log(line: string): void
}

/** What the room reads of a `stream.playout()`: its jitter-buffer metrics. */
export interface Metered {
  metrics(): { delivered: number; lateDrops: number; gaps: number; duplicates: number; reorders: number; currentDelayMs: number; p95DelayMs: number; depth: number }
}

export interface Source {
  readonly name: string
  /** Which side of the aligner (join order). */
  side: 0 | 1
  readonly join: JoinParams
  playout?: Metered
  finished: boolean
  failure?: string
  /** wallTime − true capture time per frame (this client's clock-sync error), µs; since the last report and all. */
  syncErrors: number[]
  /** wallTime − its grid instant per frame (how late the sender captured it), µs. */
  lateness: number[]
  allSyncErrors: number[]
  allLateness: number[]
  frames: number
}

interface Round {
  readonly id: number
  readonly sources: Source[]
  startUs?: number
  frames?: number
  aligner?: Aligner
  /** Alignment errors since the last report and all, µs. */
  window: number[]
  all: number[]
  waiters: Array<{ resolve(result: JoinResult): void; reject(error: unknown): void }>
  /** The first report waits for the audio to start, then one a second. */
  firstReport?: ReturnType<typeof setTimeout>
  report?: ReturnType<typeof setInterval>
  deadline?: ReturnType<typeof setTimeout>
  reports: number
  done: boolean
}

export class Room {
  readonly #options: RoomOptions
  #round: Round
  #rounds = 0

  constructor(options: RoomOptions) {
    this.#options = options
    this.#round = this.#newRound()
  }

  #newRound(): Round {
    return { id: ++this.#rounds, sources: [], window: [], all: [], waiters: [], reports: 0, done: false }
  }

  /**
   * `audio.join`: waits for the second source, then answers both with the same start instant,
   * `leadMs` ahead on the server's clock (`now()`).
   */
  join(params: JoinParams, now: () => number, signal: AbortSignal): Promise<JoinResult> {
    const round = this.#round
    if (round.startUs !== undefined) throw new EchoError('E_BUSY', `Round ${round.id} is playing (${round.sources.map((s) => s.name).join(' and ')}); join again when it has ended.`)
    if (round.sources.some((s) => s.name === params.source)) throw new EchoError('E_DUPLICATE', `Source '${params.source}' already joined round ${round.id}: give each client its own --source.`)
    const source: Source = { name: params.source, side: round.sources.length as 0 | 1, join: params, finished: false, syncErrors: [], lateness: [], allSyncErrors: [], allLateness: [], frames: 0 }
    round.sources.push(source)
    this.#options.log(`${source.name} joined round ${round.id} (local clock ${signedMs(params.localErrorUs, 1)} off server time)`)
    return new Promise<JoinResult>((resolve, reject) => {
      const waiter = { resolve, reject }
      round.waiters.push(waiter)
      signal.addEventListener('abort', () => {
        // The caller gave up (timeout, disconnect) before the round started: free its place.
        if (round.startUs !== undefined) return
        round.sources.splice(round.sources.indexOf(source), 1)
        round.sources.forEach((s, i) => (s.side = i as 0 | 1))
        round.waiters.splice(round.waiters.indexOf(waiter), 1)
        reject(signal.reason)
      }, { once: true })
      if (round.sources.length === 2) this.#start(round, now())
    })
  }

  #start(round: Round, nowUs: number): void {
    const frames = Math.round((this.#options.seconds * 1e6) / FRAME_US)
    const startUs = Math.round(nowUs + this.#options.leadMs * 1000)
    round.startUs = startUs
    round.frames = frames
    round.aligner = new Aligner()
    const [a, b] = byName(round.sources) as [Source, Source]
    this.#options.log(
      `round ${round.id}: ${a.name} and ${b.name} start their tone at server time ${startUs} µs, ${frames} frames of 20 ms; ` +
        `their local clocks are ${ms(Math.abs(a.join.localErrorUs - b.join.localErrorUs), 1)} apart (what aligning without clock sync would be off by)`,
    )
    const result: JoinResult = { round: round.id, startUs, frames, frameUs: FRAME_US, sources: [a.name, b.name] }
    for (const waiter of round.waiters.splice(0)) waiter.resolve(result)
    round.firstReport = setTimeout(() => {
      round.report = setInterval(() => this.#report(round), 1000)
    }, this.#options.leadMs)
    const endMs = this.#options.leadMs + this.#options.seconds * 1000 + this.#options.graceMs
    round.deadline = setTimeout(() => this.#finish(round, `the round did not end within ${this.#options.graceMs} ms of its last frame`), endMs)
  }

  /** A stream opened: the source it belongs to, or an error that refuses it. */
  attach(meta: AudioMeta | undefined): Source {
    const round = this.#round
    const source = round.sources.find((s) => s.name === meta?.source)
    if (!source || round.startUs === undefined) throw new EchoError('E_NOT_JOINED', `Stream from '${meta?.source}' refused: call audio.join first and open the stream with the round's meta.`)
    if (meta?.startUs !== round.startUs) throw new EchoError('E_NOT_JOINED', `Stream from '${meta?.source}' names start ${meta?.startUs}, the round starts at ${round.startUs}.`)
    return source
  }

  /** A frame the jitter buffer released. */
  played(source: Source, frame: PlayedFrame): void {
    const round = this.#round
    if (round.done || !round.aligner || round.startUs === undefined || !round.sources.includes(source)) return
    source.frames++
    const syncError = frame.wallTime - frame.trueCaptureUs
    const lateness = frame.wallTime - (round.startUs + frame.seq * FRAME_US)
    source.syncErrors.push(syncError)
    source.allSyncErrors.push(syncError)
    source.lateness.push(lateness)
    source.allLateness.push(lateness)
    const pair = round.aligner.add(source.side, frame)
    if (pair) {
      round.window.push(pair.alignmentUs)
      round.all.push(pair.alignmentUs)
    }
  }

  /** A source's playout ended (or failed); the round is summarised once both have. */
  finished(source: Source, failure?: string): void {
    source.finished = true
    if (failure) source.failure = failure
    const round = this.#round
    if (round.sources.length === 2 && round.sources.every((s) => s.finished)) this.#finish(round)
  }

  #report(round: Round): void {
    round.reports++
    const align = summary(round.window.splice(0))
    this.#options.log(`${round.reports} s: alignment error p50 ${ms(align.p50)}, max ${ms(align.max)} (${align.count} pairs)`)
    for (const s of byName(round.sources)) {
      const sync = median(s.syncErrors.splice(0))
      const late = summary(s.lateness.splice(0))
      const m = s.playout?.metrics()
      const jb = m ? `delivered ${m.delivered}, late drops ${m.lateDrops}, gaps ${m.gaps}, delay ${m.currentDelayMs.toFixed(1)} ms (p95 ${m.p95DelayMs.toFixed(1)} ms), depth ${m.depth}` : 'not open'
      this.#options.log(`  ${s.name}: clock error ${signedMs(sync)}, capture lateness p50 ${ms(late.p50, 2)} max ${ms(late.max, 2)} | jitter buffer: ${jb}`)
    }
  }

  #finish(round: Round, problem?: string): void {
    if (round.done) return
    round.done = true
    clearTimeout(round.firstReport)
    clearInterval(round.report)
    clearTimeout(round.deadline)
    const log = this.#options.log
    log(`round ${round.id} ended${problem ? `: ${problem}` : ''}`)
    for (const s of byName(round.sources)) {
      const sync = summary(s.allSyncErrors)
      const late = summary(s.allLateness)
      const m = s.playout?.metrics()
      log(
        `  ${s.name}: ${s.frames} frames played; clock error p50 ${signedMs(median(s.allSyncErrors))}, |max| ${ms(sync.max)}; capture lateness p50 ${ms(late.p50, 2)}, p99 ${ms(late.p99, 2)}` +
          (m ? `; jitter buffer: late drops ${m.lateDrops}, gaps ${m.gaps}, duplicates ${m.duplicates}, reorders ${m.reorders}, p95 delay ${m.p95DelayMs.toFixed(1)} ms` : '') +
          (s.failure ? `; stream failed: ${s.failure}` : ''),
      )
    }
    const align = summary(round.all)
    const frames = round.sources.reduce((n, s) => n + s.frames, 0)
    const expected = round.frames ?? 0
    const [a, b] = round.sources
    const unsynced = a && b ? ms(Math.abs(a.join.localErrorUs - b.join.localErrorUs), 1) : '—'
    const reasons: string[] = []
    if (align.count > 0 && !(align.max < BOUND_US)) reasons.push(`max ≥ ${BOUND_US / 1000} ms`)
    if (align.count < expected * MIN_PAIRED) reasons.push(`only ${align.count} of ${expected} frame pairs measured`)
    if (round.sources.some((s) => s.failure)) reasons.push('a stream failed')
    const verdict = reasons.length ? `FAIL (${reasons.join(', ')})` : `OK (< ${BOUND_US / 1000} ms)`
    log(`alignment error p50 ${ms(align.p50)}, p99 ${ms(align.p99)}, max ${ms(align.max)} (frames ${frames}, pairs ${align.count}; unsynchronised clocks ${unsynced} apart) — ${verdict}`)
    this.#round = this.#newRound()
  }
}

function byName(sources: Source[]): Source[] {
  return [...sources].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
}
