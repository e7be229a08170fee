/**
 * What the server and the clients agree on: the audio format, the frame layout, the RPCs of a
 * round, and the reference clock used to *measure* (never to align) the result.
 */

/** 48 kHz mono signed 16-bit little-endian PCM, in 20 ms frames. */
export const SAMPLE_RATE = 48_000
export const FRAME_SAMPLES = 960
export const FRAME_US = (FRAME_SAMPLES / SAMPLE_RATE) * 1e6 // 20 000 µs
/** Bytes of instrumentation in front of the PCM (see `encodeFrame`). */
export const HEADER_BYTES = 8
export const FRAME_BYTES = HEADER_BYTES + FRAME_SAMPLES * 2

/** Stream meta a client opens its `audio` stream with. */
export interface AudioMeta {
  source: string
  rate: number
  channels: 1
  format: 's16le'
  frameSamples: number
  startUs: number
}

/** `audio.join` params: who joins, and how wrong its local clock is (measured, for the report). */
export interface JoinParams {
  source: string
  /** The `localOffsetMs` the client was started with. */
  localOffsetMs: number
  /** Local clock − true server time, µs, read against the reference (what the error would be without sync). */
  localErrorUs: number
}

/** `audio.join` result: the agreed start instant, in the server's timebase, and the length of the round. */
export interface JoinResult {
  round: number
  startUs: number
  frames: number
  frameUs: number
  sources: string[]
}

/** `audio.reference` result: the server's clock and this machine's monotonic clock, read together. */
export interface Reference {
  serverUs: number
  monotonicUs: number
}

/**
 * This machine's monotonic clock (CLOCK_MONOTONIC on Linux), µs. Every process on one machine
 * reads the same counter, so a process that knows `server clock − monotonic` (one `audio.reference`
 * call, exact because the server's clock is that same counter plus a constant) knows the true
 * server time at any instant. That is the ground truth the example measures clock sync against; it
 * exists only because all processes share the machine, and nothing in the data path uses it.
 */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint()) / 1000
}

/**
 * One frame on the wire: `[f64le trueCaptureUs][960 × s16le]`. The 8-byte header is measurement
 * instrumentation (the capture instant read on the reference clock, in the server's timebase); a
 * real application sends the PCM alone. The frame's `wallTime` (stream metadata) is what the
 * server aligns by.
 */
export function encodeFrame(trueCaptureUs: number, pcm: Int16Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_BYTES)
  frame.writeDoubleLE(trueCaptureUs, 0)
  Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).copy(frame, HEADER_BYTES)
  return frame
}

/** The header of a received frame, or undefined when the frame is not the expected size. */
export function decodeFrame(data: Uint8Array): { trueCaptureUs: number; pcm: Uint8Array } | undefined {
  if (!(data instanceof Uint8Array) || data.byteLength !== FRAME_BYTES) return undefined
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  return { trueCaptureUs: view.getFloat64(0, true), pcm: data.subarray(HEADER_BYTES) }
}

/** A sine tone, phase-continuous across frames: frame `seq` holds samples seq·960 … seq·960 + 959. */
export function toneFrame(seq: number, hz: number, out = new Int16Array(FRAME_SAMPLES)): Int16Array {
  const amplitude = 0.25 * 32767
  const first = seq * FRAME_SAMPLES
  for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * (first + i)) / SAMPLE_RATE))
  return out
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** p50, p99 and max of |values|, µs. */
export function summary(values: number[]): { count: number; p50: number; p99: number; max: number } {
  const sorted = values.map(Math.abs).sort((a, b) => a - b)
  return { count: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN }
}

/** The median of signed values (NaN when empty). */
export function median(values: number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5)
}

/** µs → "0.123 ms" (3 decimals: the figures are tens of µs). */
export function ms(us: number, digits = 3): string {
  return Number.isFinite(us) ? `${(us / 1000).toFixed(digits)} ms` : '—'
}

/** µs → "+0.123 ms" with its sign. */
export function signedMs(us: number, digits = 3): string {
  return Number.isFinite(us) ? `${us >= 0 ? '+' : '−'}${(Math.abs(us) / 1000).toFixed(digits)} ms` : '—'
}
