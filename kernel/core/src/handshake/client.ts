/**
 * The client's side of the handshake: `hello` (version, codec, wire plugins, its maxPayload, and
 * what `hello` taps add), then `welcome` opens the session; its limits bound what the client
 * sends and set the liveness deadline from the server's ping schedule. `reattach` is the generic
 * resume primitive: a suspended session redoes the handshake on a new connection (reconnect
 * drives it), and learns whether the server still had it.
 */
import { EchoError, ErrorCodes } from '../errors.js'
import { kernelErrors } from '../kernel-errors.js'
import { CloseCodes, KernelFrames, PROTOCOL_VERSION, type Frame, type HelloPayload, type WelcomeLimits, type WelcomePayload } from '../frame.js'
import { peerPayload, welcomeProblem } from './checks.js'
import type { Handshake, Pipeline } from '../pipeline.js'
import type { PluginHost } from '../host.js'
import type { CloseInfo, SessionImpl } from '../session.js'
import type { Connection, Transport } from '../transport.js'
import type { Kernel } from '../kernel.js'

interface Waiter {
  resolve(recovered: boolean): void
  reject(error: EchoError): void
}

export class ClientHandshake implements Handshake {
  #waiter: Waiter | undefined

  constructor(
    private readonly kernel: Kernel,
    private readonly host: PluginHost,
    private readonly pipeline: Pipeline,
    private readonly timeoutMs: number,
  ) {}

  /** The kernel is stopping: a handshake under way fails. */
  abort(): void {
    this.#waiter?.reject(new EchoError(ErrorCodes.E_CLOSED, 'The kernel stopped during the handshake.'))
  }

  onClosed(session: SessionImpl, info: CloseInfo): void {
    const reconnecting = session.awaitingWelcome
    session.awaitingWelcome = false
    if (!reconnecting && session.state === 'suspended') return
    this.#waiter?.reject(kernelErrors.closedDuringHandshake(info.code, info.reason, reconnecting))
  }

  /** Opens the client's session: connect, `hello`, await `welcome`. */
  async connect(transport: Transport): Promise<SessionImpl> {
    const url = this.kernel.url
    if (!url) throw kernelErrors.noUrl()
    let connection: Connection
    try {
      connection = await transport.connect(url)
    } catch (error) {
      throw EchoError.is(error) ? error : kernelErrors.cannotConnect(url, error)
    }
    const session = this.pipeline.attach(connection)
    this.kernel.session = session
    await this.#handshake(session, connection, false)
    return session
  }

  /**
   * Client: a new connection for the `suspended` session, and the handshake again (`hello` taps add
   * what a resume needs). Resolves `recovered: true` when the server re-attached the session;
   * `false` when it started a new one (then `disconnect` ran for the old one and `connect` for the
   * new, on the same Session object). Rejects (the session still suspended) when the server cannot
   * be reached or refuses; the caller retries.
   */
  async reattach(): Promise<{ recovered: boolean }> {
    const session = this.kernel.session as SessionImpl | undefined
    if (!session || session.state !== 'suspended') throw kernelErrors.notSuspended(this.kernel.role, session?.state ?? 'missing')
    const connection = await this.kernel.transport!.connect(this.kernel.url!)
    if (this.kernel.state !== 'started' || session.state !== 'suspended') {
      connection.close(CloseCodes.normal, 'client stopping')
      throw new EchoError(ErrorCodes.E_CLOSED, 'The client stopped while reconnecting.')
    }
    this.pipeline.bind(session, connection)
    session.awaitingWelcome = true
    return { recovered: await this.#handshake(session, connection, true) }
  }

  async #handshake(session: SessionImpl, connection: Connection, reconnecting: boolean): Promise<boolean> {
    const welcomed = new Promise<boolean>((resolve, reject) => (this.#waiter = { resolve, reject }))
    session.handshakeTimer = setTimeout(() => {
      this.#waiter?.reject(kernelErrors.noWelcome(this.kernel.url!, this.timeoutMs, reconnecting))
      try {
        if (reconnecting) {
          session.awaitingWelcome = false
          connection.close(CloseCodes.handshakeTimeout, 'handshake timeout')
        } else this.pipeline.closeSession(session, CloseCodes.handshakeTimeout, 'handshake timeout')
      } catch (error) {
        this.kernel.reportError(error, 'the handshake deadline', session)
      }
    }, this.timeoutMs)
    try {
      this.pipeline.writeRaw(session, { kind: KernelFrames.hello, payload: this.#hello() })
      return await welcomed
    } finally {
      this.#waiter = undefined
    }
  }

  #hello(): HelloPayload {
    const base: HelloPayload = { protocol: PROTOCOL_VERSION, codec: this.kernel.codec!.name, plugins: this.host.wirePlugins(), limits: { maxPayload: this.kernel.transportLimits().maxPayload } }
    try {
      return this.host.hooks.hello.call(base)
    } catch (error) {
      throw EchoError.from(error, ErrorCodes.E_PLUGIN)
    }
  }

  async onFrame(session: SessionImpl, frame: Frame): Promise<void> {
    const reconnecting = session.awaitingWelcome
    const waiter = this.#waiter
    session.awaitingWelcome = false
    const welcome = frame.payload as WelcomePayload | undefined
    let refusal: EchoError | undefined
    if (frame.kind === KernelFrames.error) refusal = EchoError.fromWire(frame.payload)
    else if (frame.kind !== KernelFrames.welcome || typeof welcome?.sessionId !== 'string') refusal = kernelErrors.notWelcome(frame.kind, this.kernel.url ?? '')
    else {
      const problem = welcomeProblem(welcome)
      if (problem) refusal = kernelErrors.malformedWelcome(problem)
    }
    if (refusal) {
      waiter?.reject(refusal)
      // A refused reconnect drops only that connection: the session stays suspended for the next attempt.
      if (reconnecting) session.connection.close(CloseCodes.normal, 'reconnect refused')
      else this.pipeline.closeSession(session, refusal.code === ErrorCodes.E_PROTOCOL ? CloseCodes.protocol : CloseCodes.normal, refusal.code)
      return
    }
    session.clearHandshakeTimer()
    this.#applyLimits(session, welcome!.limits)
    session.handshake = Object.freeze({ ...welcome })
    if (reconnecting && welcome!.sessionId === session.id) {
      session.state = 'open'
      this.pipeline.notifyResumed(session)
      return waiter?.resolve(true)
    }
    if (reconnecting) {
      // The server no longer has this session: the old one ends here and a new one begins on the same object.
      const lost = session.closeInfo ?? { code: 1006, reason: 'connection lost' }
      this.pipeline.notifyDisconnect(session, { code: lost.code, reason: `session not recovered (${lost.reason})` })
    }
    session.id = welcome!.sessionId
    session.state = 'open'
    try {
      await this.host.hooks.connect.promise(session)
      waiter?.resolve(false)
    } catch (error) {
      waiter?.reject(EchoError.from(error, ErrorCodes.E_PLUGIN))
      this.pipeline.closeSession(session, CloseCodes.normal, 'client connect hook failed')
    }
  }

  /** The server's limits bound what this side sends; its ping schedule sets the liveness deadline. */
  #applyLimits(session: SessionImpl, limits: WelcomeLimits): void {
    session.peerMaxPayload = peerPayload(limits.maxPayload)
    if (limits.pingIntervalMs > 0 && session.connection.expectPings) {
      try {
        session.connection.expectPings(limits.pingIntervalMs, limits.pingTimeoutMs)
      } catch (error) {
        this.kernel.reportError(error, 'the transport (expectPings)', session)
      }
    }
  }
}
