/**
 * Which closes may be resumed. A resume replays what the peer missed, so it only makes sense when
 * the link was lost; after a deliberate end or a close *caused by what was sent*, it would do harm:
 * issue #10 saw an oversize frame replayed after every resume and closed again with 1009, about
 * nine reconnects a second, forever; and a `client.stop()` left the server holding the session for
 * the whole grace period.
 */

/** The link was lost or the peer is going away for a while: keep the session for a resume. */
const RESUMABLE = new Set<number>([
  1001, // going away: the server restarts or drains (a client may resume elsewhere)
  1005, // closed without a status code
  1006, // lost without a close frame (network failure, process killed)
  1011, // the peer failed unexpectedly
  1012, // service restart
  1013, // try again later
  1014, // bad gateway
  1015, // TLS failure
  4008, // ping timeout (echostream)
  4009, // slow consumer: outbound budget exceeded (echostream)
])

/**
 * True when a session closed with `code` may be suspended for a resume, on `side`. Never for 1000
 * (a deliberate end: what `client.stop()` and `session.close()` send), protocol, policy and size
 * violations (1002, 1003, 1007–1010, 4000–4003: replaying would repeat them) or any other
 * application code (a deliberate close by the application). 1001 from a *client* is a client
 * going away on purpose (a browser leaving the page, an older client's `stop()`): the server ends
 * that session at once; 1001 from a server (restart, drain) is worth a resume.
 */
export function isResumable(code: number, side: 'server' | 'client'): boolean {
  if (code === 1001) return side === 'client'
  return RESUMABLE.has(code)
}
