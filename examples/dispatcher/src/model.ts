/**
 * The fake speech model a worker runs: deterministic and download-free. A result depends only on
 * the capability and the audio bytes (so a test can compute what every job must return, and a job
 * that ran twice on two workers returns the same text); the time it takes is drawn from a seeded
 * distribution, so a run is reproducible from its seed.
 */
import { createHash } from 'node:crypto'
import { seededRandom } from '@echostream/kernel'

/** What the fake model can do. A worker offers a subset. */
export const MODEL_CAPABILITIES = ['recognise', 'translate', 'diarise'] as const

const WORDS = [
  'alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima',
  'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango', 'uniform', 'victor', 'whiskey', 'xray',
  'yankee', 'zulu', 'stream', 'packet', 'socket', 'buffer', 'signal', 'window',
]

/**
 * The model's output for `audio` under `capability`: 3–8 words chosen by a SHA-256 of both.
 * `translate` answers in the "other language" (words reversed), `diarise` labels speakers.
 */
export function infer(capability: string, audio: Uint8Array): string {
  const digest = createHash('sha256').update(capability).update('\0').update(audio).digest()
  const count = 3 + (digest[0]! % 6)
  const words = Array.from({ length: count }, (_, i) => WORDS[digest[i + 1]! % WORDS.length]!)
  if (capability === 'translate') return words.map((w) => [...w].reverse().join('')).join(' ')
  if (capability === 'diarise') return words.map((w, i) => `S${1 + (digest[20 + i]! % 2)}:${w}`).join(' ')
  return words.join(' ')
}

/** A seed from a string (worker ids, session names): FNV-1a. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h
}

export interface DelayModel {
  /** Shortest time a job takes, ms. */
  minMs: number
  /** Mean of the exponential part above the minimum, ms. */
  meanMs: number
  /** Cap, ms (a long tail is real; an unbounded one only slows tests). */
  maxMs: number
}

/** Job durations: min + exponential(mean), capped — the shifted-exponential shape of service times. */
export function delays(seed: number, model: DelayModel): () => number {
  const random = seededRandom(seed)
  return () => Math.min(model.maxMs, model.minMs - model.meanMs * Math.log(1 - random()))
}

/** Synthetic utterance audio: `chunks` chunks of 16-bit PCM, deterministic from the seed. */
export function utteranceAudio(seed: number, chunks: number, chunkBytes: number): Uint8Array[] {
  const random = seededRandom(seed)
  return Array.from({ length: chunks }, () => {
    const chunk = new Uint8Array(chunkBytes)
    for (let i = 0; i < chunkBytes; i++) chunk[i] = Math.floor(random() * 256)
    return chunk
  })
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let size = 0
  for (const c of chunks) size += c.byteLength
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}
