/**
 * The one room of this server process, shared by the handler modules (both import this module, so
 * they see one instance). Tunable from the environment: AUDIO_SECONDS (default 5).
 */
import { Room } from './room.js'

const seconds = Number(process.env.AUDIO_SECONDS ?? 5)
if (!(seconds > 0 && seconds <= 3600)) throw new Error(`AUDIO_SECONDS must be a number of seconds in (0, 3600], got ${process.env.AUDIO_SECONDS}`)

export const room = new Room({
  seconds,
  leadMs: 1000,
  graceMs: 10_000,
  log: (line) => console.log(`[audio] ${line}`),
})

/**
 * Both streams play out on one timeline: every frame at toLocal(wallTime) + 80 ms, the same D for
 * both (`adaptive: false`), so frames captured at the same instant leave the buffer together. An
 * adaptive D per stream would suit one stream alone; two streams to be mixed need a common one.
 */
export const PLAYOUT = { adaptive: false, delayMs: 80 } as const
