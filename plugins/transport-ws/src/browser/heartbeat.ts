/**
 * Liveness for a peer that cannot see WebSocket pings (a browser answers them without telling the
 * page). PROTOCOL.md, "Heartbeat": the client sends an empty binary message when it has heard
 * nothing for the server's `pingIntervalMs`; the server answers it at once with an empty message.
 * The link is dead when nothing at all arrived within `pingTimeoutMs` of a heartbeat.
 *
 * One timer per connection, re-armed from a timestamp (`touch` costs one `performance.now()` per
 * message, no timer work). The deadline counts from the heartbeat actually sent, not from when it
 * was due: a hidden tab's timers may fire a minute late (Chrome's intensive throttling), and a
 * late heartbeat must not turn into a false "dead link".
 */

export interface HeartbeatSettings {
  pingIntervalMs: number
  pingTimeoutMs: number
}

/** The largest delay `setTimeout` honours (a larger one fires at once). */
const MAX_DELAY = 2 ** 31 - 1

export class Heartbeat {
  #settings: HeartbeatSettings | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  /** `performance.now()` of the last inbound message. */
  #lastInbound = performance.now()
  /** `performance.now()` of the heartbeat awaiting an answer, or -1. */
  #sentAt = -1
  /** Heartbeats sent so far (for tests and metrics). */
  sent = 0

  constructor(
    private readonly ping: () => void,
    private readonly dead: (silentMs: number) => void,
  ) {}

  /** The settings in force (undefined until armed). */
  get settings(): HeartbeatSettings | undefined {
    return this.#settings
  }

  /** Something arrived: the link is alive. */
  touch(): void {
    this.#lastInbound = performance.now()
    this.#sentAt = -1
  }

  /** (Re)arms for a server pinging every `pingIntervalMs` and waiting `pingTimeoutMs`. */
  start(settings: HeartbeatSettings): void {
    this.#settings = settings
    this.#schedule(performance.now())
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#settings = undefined
  }

  #schedule(now: number): void {
    const settings = this.#settings
    if (!settings) return
    clearTimeout(this.#timer)
    const due = this.#sentAt >= 0 ? this.#sentAt + settings.pingTimeoutMs : this.#lastInbound + settings.pingIntervalMs
    this.#timer = setTimeout(() => this.#check(), Math.min(Math.max(due - now, 0), MAX_DELAY))
  }

  #check(): void {
    const settings = this.#settings
    if (!settings) return
    const now = performance.now()
    if (this.#sentAt >= 0 && now - this.#sentAt >= settings.pingTimeoutMs) {
      this.stop()
      this.dead(Math.round(now - this.#lastInbound))
      return
    }
    if (this.#sentAt < 0 && now - this.#lastInbound >= settings.pingIntervalMs) {
      this.#sentAt = now
      this.sent++
      this.ping()
    }
    this.#schedule(now)
  }
}
