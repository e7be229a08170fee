/**
 * Liveness that never trusts `close` to arrive (STYLE rule 10). The server pings every connection
 * in rounds (the kernel's `PingRounds`: one interval, one deadline timer per round) and terminates
 * one whose pong is late. The client is told the server's
 * cadence in `welcome.limits` (the kernel calls `expectPings`) and gives up when no ping came for
 * `pingIntervalMs + pingTimeoutMs` of **the server's** settings; before the welcome the kernel's
 * handshake deadline applies, and a server that announces no pings is not expected to ping: a client deriving the deadline from its own options would drop
 * every session of a server that pings less often (issue #11: a server pinging every 60 s dropped
 * every default client every 45 s).
 */
import { CloseCodes } from '@echostream/kernel'
import { WebSocket } from 'ws'
import { connectionOf, trimReceiveQueue, type WsConnection } from './connection.js'

/** The server's ping cadence, as `welcome.limits` announces it. */
export interface PingSettings {
  pingIntervalMs: number
  pingTimeoutMs: number
}

// ---------------------------------------------------------------- server
// The server's pinger is the kernel's `PingRounds` (one timer per round for every connection).

/**
 * The server's ws socket (WebSocketServer's `WebSocket` option, with `autoPong: false`): it takes
 * its own pongs and answers pings itself (WsConnection#answerPing). A 'pong' listener would be the
 * fourth event name in the socket's listener table (after message, close and error); that table
 * is a dictionary whose capacity doubles at the fourth name: 96 bytes more per connection
 * (bench/README.md, "What an idle connection keeps"). Every event still reaches the listeners, as
 * on any ws socket.
 */
export class ServerSocket extends WebSocket {
  /**
   * Every message passes here. ws emits at most two arguments (`message`: data and isBinary;
   * `close`: code and reason), so they are named, not gathered: a rest parameter and a spread
   * call per message were ~170 instructions of a call's server side (bench/README,
   * "Against the kernel before v2"). A listener sees exactly the arguments ws passed.
   */
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    // A pong answers the last ping: the connection owes none. It also regrew ws's receive queue
    // (connection.ts trimReceiveQueue): an idle connection gives that back every round.
    if (event === 'pong') {
      const connection = connectionOf(this)
      if (connection !== undefined) connection.pingRound = 0
      trimReceiveQueue(this)
    } else if (event === 'ping') {
      connectionOf(this)?.answerPing(a as Buffer)
    }
    switch (arguments.length) {
      case 1:
        return super.emit(event)
      case 2:
        return super.emit(event, a)
      case 3:
        return super.emit(event, a, b)
      default:
        return super.emit(event, ...Array.prototype.slice.call(arguments, 1))
    }
  }
}

// ---------------------------------------------------------------- client

/** The deadline a client keeps for the server's pings: armed once the cadence is known, re-armed by each ping. */
export class PingWatch {
  #timer: ReturnType<typeof setTimeout> | undefined
  #deadlineMs = 0
  #onPing = () => this.#timer?.refresh()

  constructor(private readonly connection: WsConnection) {
    connection.socket.on('ping', this.#onPing)
    connection.socket.once('close', () => this.stop())
  }

  /** The deadline in force (0 before it is armed). */
  get deadlineMs(): number {
    return this.#deadlineMs
  }

  /** (Re)arms the deadline for a server pinging every `pingIntervalMs` and waiting `pingTimeoutMs` for pongs. */
  expect({ pingIntervalMs, pingTimeoutMs }: PingSettings): void {
    if (this.connection.isClosed) return
    const deadlineMs = Math.min(pingIntervalMs + pingTimeoutMs, 2 ** 31 - 1)
    this.#deadlineMs = deadlineMs
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.connection.terminate(CloseCodes.pingTimeout, `ping timeout: no ping from the server for ${deadlineMs} ms`), deadlineMs)
    this.#timer.unref?.()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
