/**
 * One frame to many sessions (`kernel.fanout`, `sendMany`: a server's broadcast), apart from the
 * sending half (outbound.ts) because a page never fans out — it has one session — so the
 * package's `browser` field maps this module to fanout.browser.ts, which refuses.
 */
import { EchoError } from './errors.js'
import type { Frame } from './frame.js'
import type { FanoutReport, Outbound } from './outbound.js'
import type { SendOptions, Session, SessionImpl } from './session.js'

/**
 * One frame to many sessions, encoded once: a session whose `outbound` taps return the frame
 * unchanged gets the shared bytes (a tap that returns a new frame costs one encode for that
 * session). Sessions are isolated: a failure is counted and reported, never thrown into the
 * loop. Throws only when the frame itself cannot be encoded.
 */
export function fanout(pipe: Outbound, sessions: Iterable<Session>, frame: Frame, options?: SendOptions): FanoutReport {
  const report: FanoutReport = { sent: 0, dropped: 0, failed: 0, failures: [] }
  const volatile = options?.volatile === true
  const outbound = pipe.outboundHook
  const tapped = outbound.taps.length > 0
  let shared: Uint8Array | undefined
  let unencodable: unknown
  for (const item of sessions) {
    const session = item as SessionImpl
    if (session.state !== 'open' && session.state !== 'suspended') continue
    try {
      const out = tapped ? outbound.call(frame, session) : frame
      if (!out) {
        report.dropped++
        continue
      }
      let bytes = out === frame ? shared : pipe.encode(out)
      if (bytes === undefined) {
        try {
          bytes = shared = pipe.encode(frame)
        } catch (error) {
          unencodable = error // the frame itself is bad: the broadcaster's error, not this session's
          break
        }
      }
      if (pipe.deliver(session, bytes, out, volatile) > 0) report.sent++
      else report.dropped++
    } catch (error) {
      report.failed++
      pipe.stats.fanoutFailures++
      if (report.failures.length < 16) report.failures.push({ session, error: EchoError.from(error) })
    }
  }
  if (unencodable !== undefined) throw unencodable
  return report
}
