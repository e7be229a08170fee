/**
 * echostream over `@echostream/plugin-transport-tcp` (plain TCP, length-prefixed frames) instead of
 * transport-ws: preset-default with `'transport-ws': false`, everything else as the echostream
 * peer (see echostream.mjs). The limit is raw ws + msgpackr, so this peer is not bounded by it:
 * its ratios show what leaving WebSocket framing buys on the same machine.
 */
import { makePeer } from './echostream.mjs'

export const { startServer, connect } = makePeer({ transport: 'tcp' })
