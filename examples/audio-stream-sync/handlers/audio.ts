import { defineStream } from '@echostream/preset-realtime'
import { decodeFrame, type AudioMeta } from '../lib/protocol.js'
import { PLAYOUT, room } from '../lib/server-room.js'

/**
 * One client's tone. The frames go through the jitter buffer (`stream.playout()`), which releases
 * them at their wallTime + 80 ms on the server's clock; each released frame goes to the aligner,
 * which pairs it with the other client's frame of the same instant.
 */
export const audio = defineStream<Uint8Array, AudioMeta>('audio', async (stream, ctx) => {
  // Refuses (cancels the stream with E_NOT_JOINED) a stream that is not part of the round.
  const source = room.attach(ctx.meta)
  const playout = stream.playout(PLAYOUT)
  source.playout = playout
  let failure: string | undefined
  try {
    for await (const event of playout) {
      if (event.kind !== 'frame') continue // gaps are counted in playout.metrics()
      const decoded = decodeFrame(event.frame.data)
      if (!decoded) continue
      room.played(source, { seq: event.frame.seq, wallTime: event.frame.wallTime, trueCaptureUs: decoded.trueCaptureUs })
    }
  } catch (error) {
    failure = `${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message}`
  } finally {
    room.finished(source, failure)
  }
})
