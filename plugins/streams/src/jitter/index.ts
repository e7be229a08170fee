/**
 * Receiver-side jitter buffer for media streams. Timer-driven use:
 *
 *   const jb = new JitterBuffer<Uint8Array>({ now: clock.nowUs, toLocal: clock.toLocal })
 *   onFrame((f) => { jb.push(f); arm() })
 *   function arm() { const at = jb.nextDueAt(); if (at !== undefined) setTimer(at, tick) }
 *   function tick() { for (const e of jb.pop()) e.kind === 'frame' ? play(e.frame) : conceal(e.gap); arm() }
 *
 * Or iterate: `for await (const e of playout(jb, { signal })) …`.
 */
export { JitterBuffer } from './jitter-buffer.js'
export { playout } from './playout.js'
export type { PlayoutOptions } from './playout.js'
export type { JitterBufferOptions, JitterEvent, JitterFrame, JitterMetrics, PushResult } from './types.js'
