/**
 * A server transport's liveness (STYLE rule 10: never trust `close` to arrive), shared by the
 * socket transports. Every `intervalMs` it pings each ready connection that owes no pong, then ONE
 * timer per round fires `timeoutMs` later and terminates every connection of that round still
 * without a pong (close code 4008). A pong sets the connection's `pingRound` back to 0.
 *
 * One timer per round instead of one per connection: with 10,000 idle connections a round costs
 * 10,000 pings and one Timeout, not 10,000 Timeouts with a closure each (~100 bytes of heap and a
 * timer-list insertion apiece). The deadline is exact: the round's check runs `timeoutMs` after
 * its pings. Rounds overlap when `timeoutMs` ≥ `intervalMs`; a connection is pinged again only
 * after it answered, and each check ends only the connections of its own round or earlier.
 */
import { CloseCodes } from './frame.js'

/** What the pinger needs of a connection. */
export interface PingedConnection {
  /** The round whose ping is unanswered, 0 when none is (the pinger sets it; the transport sets 0 on a pong). */
  pingRound: number
  /** Open and past its own handshake: may be pinged. */
  readonly ready: boolean
  ping(): void
  terminate(code: number, reason: string): void
}

export class PingRounds<C extends PingedConnection> {
  #interval: ReturnType<typeof setInterval> | undefined
  readonly #checks = new Set<ReturnType<typeof setTimeout>>()
  #round = 0

  constructor(
    private readonly connections: Iterable<C>,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  start(): void {
    this.#interval = setInterval(() => this.#pingAll(), this.intervalMs)
    ;(this.#interval as { unref?: () => void }).unref?.()
  }

  stop(): void {
    clearInterval(this.#interval)
    for (const check of this.#checks) clearTimeout(check)
    this.#checks.clear()
  }

  #pingAll(): void {
    // Rounds count from 1 (0 means "no pong owed"); 2^30 rounds are decades at any interval ≥ 1 s.
    const round = (this.#round = this.#round >= 0x3fffffff ? 1 : this.#round + 1)
    let pinged = 0
    for (const connection of this.connections) {
      if (connection.pingRound !== 0 || !connection.ready) continue
      connection.pingRound = round
      connection.ping()
      pinged++
    }
    if (pinged === 0) return
    const check = setTimeout(() => {
      this.#checks.delete(check)
      this.#expire(round)
    }, this.timeoutMs)
    ;(check as { unref?: () => void }).unref?.()
    this.#checks.add(check)
  }

  #expire(round: number): void {
    for (const connection of this.connections) {
      const owed = connection.pingRound
      if (owed !== 0 && owed <= round) connection.terminate(CloseCodes.pingTimeout, `ping timeout: no pong within ${this.timeoutMs} ms`)
    }
  }
}
