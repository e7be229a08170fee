/**
 * Server liveness (STYLE rule 10: never trust `close` to arrive). TCP has no control frames, so
 * the framing defines ping/pong (constants.ts). Every `pingIntervalMs` the server pings each ready
 * connection that has no ping outstanding, then ONE timer per round fires `pingTimeoutMs` later
 * and destroys every connection of that round still without a pong (close code 4008).
 *
 * One timer per round instead of one per connection: with 10,000 idle connections a round costs
 * 10,000 small writes and one Timeout, not 10,000 Timeouts (each ~100 bytes of heap and a timer-list
 * insertion). The deadline is exact: the round's check runs pingTimeoutMs after its pings.
 *
 * The client side is one timer per connection (connection.ts `expectPings`, armed with the cadence
 * the server announced in `welcome.limits`), re-armed with `refresh()` on every ping: no ping for
 * the server's pingIntervalMs + pingTimeoutMs → 4008.
 */
import { TransportCloseCodes } from './constants.js'
import type { TcpConnection } from './connection.js'

export class Pinger {
  #interval: ReturnType<typeof setInterval> | undefined
  #checks = new Set<ReturnType<typeof setTimeout>>()
  #round = 0

  constructor(
    private readonly connections: Set<TcpConnection>,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  start(): void {
    this.#interval = setInterval(() => this.#pingAll(), this.intervalMs)
    this.#interval.unref()
  }

  stop(): void {
    clearInterval(this.#interval)
    for (const check of this.#checks) clearTimeout(check)
    this.#checks.clear()
  }

  #pingAll(): void {
    const round = ++this.#round
    let pinged = 0
    for (const connection of this.connections) {
      if (connection.awaitingPong || !connection.ready) continue
      connection.awaitingPong = true
      connection.pingRound = round
      connection.ping()
      pinged++
    }
    if (pinged === 0) return
    const check = setTimeout(() => {
      this.#checks.delete(check)
      this.#expire(round)
    }, this.timeoutMs)
    check.unref()
    this.#checks.add(check)
  }

  #expire(round: number): void {
    for (const connection of this.connections) {
      if (connection.awaitingPong && connection.pingRound <= round) {
        connection.terminate(TransportCloseCodes.pingTimeout, `ping timeout: no pong within ${this.timeoutMs} ms`)
      }
    }
  }
}
