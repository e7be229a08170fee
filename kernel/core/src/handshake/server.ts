/**
 * The server's side of the handshake: a connection becomes a session once its `hello` passes —
 * version first (a v1 peer hears that it is too old), then shape, codec and wire plugins, then
 * the `connect` taps — and `welcome` announces the session id and the server's limits. A `hello`
 * that proves (through a `resume` tap) to own a suspended session re-attaches it instead.
 * Credential fields plugins registered are readable by `connect` taps, then removed.
 */
import { EchoError, ErrorCodes } from '../errors.js'
import { describe } from '../describe.js'
import { serverHandshakeErrors } from './server-errors.js'
import { CloseCodes, KernelFrames, PROTOCOL_VERSION, type Frame, type HelloPayload, type WelcomeLimits } from '../frame.js'
import { helloProblem, newSessionId, peerPayload } from './checks.js'
import type { Handshake, Pipeline } from '../pipeline.js'
import type { PluginHost } from '../host.js'
import type { SessionImpl } from '../session.js'
import type { Connection } from '../transport.js'
import type { Kernel } from '../kernel.js'

/** The fields every v2 hello has; a hello whose other fields are flags (`isFlags`) is shared. */
const STANDARD_HELLO_FIELDS = new Set(['protocol', 'codec', 'plugins', 'limits'])

/** A value that says nothing about one peer: a boolean, a number or null (not a string: tokens, ids, names). */
function isFlag(value: unknown): boolean {
  return value === null || typeof value === 'boolean' || typeof value === 'number'
}

/** A plain object of flags, such as streams' `{ fence: true }`. */
function isFlags(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return false
  for (const key in value) if (!isFlag((value as Record<string, unknown>)[key])) return false
  return true
}

/** At most this many distinct `plugins`/`limits` shapes are shared (peers choose them). */
const SHARED_SHAPES = 64

export class ServerHandshake implements Handshake {
  /** Set by `drain`: new connections are refused. */
  draining = false
  /** One frozen object per distinct `hello.plugins` / `hello.limits`: most clients send the same ones. */
  readonly #shared = new Map<string, object>()

  constructor(
    private readonly kernel: Kernel,
    private readonly host: PluginHost,
    private readonly pipeline: Pipeline,
    private readonly timeoutMs: number,
  ) {}

  accept(connection: Connection): void {
    if (this.draining) {
      this.kernel.logger.info('connection refused: draining', { peer: connection.peer })
      return connection.close(CloseCodes.goingAway, 'server draining: reconnect to another instance')
    }
    const session = this.pipeline.attach(connection)
    session.handshakeTimer = setTimeout(() => {
      try {
        this.pipeline.refuse(session, serverHandshakeErrors.noHello(this.timeoutMs), CloseCodes.handshakeTimeout)
      } catch (error) {
        this.kernel.reportError(error, 'the handshake deadline', session)
      }
    }, this.timeoutMs)
  }

  onClosed(): void {}

  /** What the server announces: its transport's maxPayload and ping schedule. */
  limits(): WelcomeLimits {
    const limits = this.kernel.transportLimits()
    return { maxPayload: limits.maxPayload, pingIntervalMs: limits.pingIntervalMs ?? 0, pingTimeoutMs: limits.pingTimeoutMs ?? 0 }
  }

  async onFrame(session: SessionImpl, frame: Frame): Promise<void> {
    const pipeline = this.pipeline
    if (session.id) {
      // A second frame while `connect` taps are still deciding: the client must wait for `welcome`.
      return pipeline.refuse(session, serverHandshakeErrors.beforeWelcome(frame.kind), CloseCodes.protocol)
    }
    if (frame.kind !== KernelFrames.hello) return pipeline.refuse(session, serverHandshakeErrors.helloFirst(frame.kind), CloseCodes.protocol)
    const hello = frame.payload as HelloPayload | undefined
    if (typeof hello !== 'object' || hello === null || Array.isArray(hello)) {
      return pipeline.refuse(session, serverHandshakeErrors.malformedHello(`its payload is ${describe(hello)}`), CloseCodes.protocol)
    }
    // The version first: a v1 client (no `limits`) must hear that it is too old, not that its hello is malformed.
    if (hello.protocol !== PROTOCOL_VERSION) {
      if (typeof hello.protocol !== 'number') return pipeline.refuse(session, serverHandshakeErrors.malformedHello(`'protocol' is ${describe(hello.protocol)}`), CloseCodes.protocol)
      return pipeline.refuse(session, serverHandshakeErrors.incompatibleProtocol('client', hello.protocol, PROTOCOL_VERSION), CloseCodes.incompatible)
    }
    const shape = helloProblem(hello)
    if (shape) return pipeline.refuse(session, serverHandshakeErrors.malformedHello(shape), CloseCodes.protocol)
    const problem = this.#incompatibility(hello)
    if (problem) return pipeline.refuse(session, serverHandshakeErrors.incompatible(problem), CloseCodes.incompatible)
    session.clearHandshakeTimer()
    session.peerMaxPayload = peerPayload(hello.limits.maxPayload)
    // Kept in `session.handshake` for the session's life: share the common shapes (bench: JS heap per idle connection).
    hello.plugins = this.#share(hello.plugins)
    hello.limits = this.#share(hello.limits)
    const previous = this.host.hooks.resume.call(hello, session) as SessionImpl | undefined
    if (previous && previous !== session && previous.state === 'suspended') return this.#adopt(previous, session, hello)
    // The decoded payload itself (a fresh object from the codec), not a copy: one object less per
    // session; and the codec name it carries (checked equal above) as the kernel's own string.
    hello.codec = this.kernel.codec!.name
    session.handshake = hello
    session.id = newSessionId()
    try {
      await this.host.hooks.connect.promise(session)
    } catch (error) {
      this.#stripCredentials(hello)
      const refusal = EchoError.from(error, ErrorCodes.E_PROTOCOL)
      const code = refusal.code === ErrorCodes.E_UNAUTHORIZED ? CloseCodes.unauthorized : refusal.code === ErrorCodes.E_INCOMPATIBLE ? CloseCodes.incompatible : CloseCodes.protocol
      pipeline.refuse(session, refusal, code)
      // `connect` taps before the refusing one may hold state for this session: let them release it.
      pipeline.notifyDisconnect(session, { code, reason: `refused: ${refusal.code}` })
      return
    }
    this.#stripCredentials(hello)
    if (session.state === 'closed') {
      // Gone while `connect` ran: let the plugins that accepted it clean up.
      pipeline.notifyDisconnect(session, session.closeInfo ?? { code: CloseCodes.goingAway, reason: 'closed during handshake' })
      return
    }
    session.handshake = this.#shareHello(hello)
    const welcome = this.host.hooks.welcome.call({ sessionId: session.id, protocol: PROTOCOL_VERSION, plugins: this.host.wirePlugins(), limits: this.limits() }, session)
    session.state = 'open'
    pipeline.sessions.set(session.id, session)
    pipeline.writeRaw(session, { kind: KernelFrames.welcome, payload: welcome })
    this.kernel.logger.forSession(session).info('session connected', { codec: hello.codec })
  }

  #share<T extends object>(value: T, prefix = ''): T {
    let key: string
    try {
      key = prefix + JSON.stringify(value)
    } catch {
      return value
    }
    const known = this.#shared.get(key)
    if (known) return known as T
    if (key.length <= 256 && this.#shared.size < SHARED_SHAPES) this.#shared.set(key, Object.freeze(value))
    return value
  }

  /**
   * The hello as `session.handshake` keeps it, frozen: once its credentials are gone, most clients'
   * hellos are equal (`{ protocol, codec, plugins, limits }`, the last two already shared, plus
   * flags plugins add, such as streams' `{ fence: true }`), so sessions share one object instead
   * of 56 bytes or more each (bench: JS heap per idle connection). A hello with a string or deeper
   * value (a resume token, an app field) or unshared parts stays its own.
   */
  #shareHello(hello: HelloPayload): Readonly<Record<string, unknown>> {
    // Frozen parts are the shared ones (#share freezes only what it keeps; a decoded object is not frozen).
    if (!Object.isFrozen(hello.plugins) || !Object.isFrozen(hello.limits)) return Object.freeze(hello)
    for (const key in hello) {
      if (!Object.hasOwn(hello, key) || STANDARD_HELLO_FIELDS.has(key)) continue
      const value = hello[key]
      if (!isFlag(value) && !isFlags(value)) return Object.freeze(hello)
      Object.freeze(value) // shared with other sessions below: no tap may change it for all of them
    }
    return Object.freeze(this.#share(hello, 'hello '))
  }

  /** Credentials are for `connect` taps only: never kept in `session.handshake`. */
  #stripCredentials(hello: HelloPayload): void {
    for (const field of this.host.credentials.keys()) if (field in hello) delete hello[field]
  }

  /** Re-attaches a suspended session to the connection of a `hello` that proved to own it (the attach primitive reconnect uses). */
  #adopt(previous: SessionImpl, fresh: SessionImpl, hello: HelloPayload): void {
    fresh.state = 'closed' // the placeholder is dropped; its connection now belongs to `previous`
    this.#stripCredentials(hello) // the resume token proved who this is
    previous.handshake = this.#shareHello(hello)
    previous.peerMaxPayload = fresh.peerMaxPayload
    this.pipeline.bind(previous, fresh.connection)
    previous.state = 'open'
    const welcome = this.host.hooks.welcome.call({ sessionId: previous.id, protocol: PROTOCOL_VERSION, plugins: this.host.wirePlugins(), limits: this.limits() }, previous)
    this.pipeline.writeRaw(previous, { kind: KernelFrames.welcome, payload: welcome })
    this.pipeline.notifyResumed(previous)
  }

  #incompatibility(hello: HelloPayload): string | undefined {
    const codec = this.kernel.codec!.name
    if (hello.codec !== codec) return `The client encodes with '${hello.codec}', this server with '${codec}': configure the same codec plugin on both sides.`
    const mine = this.host.wirePlugins()
    const problems: string[] = []
    for (const [name, version] of Object.entries(hello.plugins)) {
      if (mine[name] === undefined) problems.push(`the client uses plugin '${name}' (wire ${describeWire(version)}), which this server does not load`)
      else if (mine[name] !== version) problems.push(`plugin '${name}' speaks wire ${describeWire(version)} on the client but ${mine[name]} on the server`)
    }
    return problems.length ? `Incompatible plugins: ${problems.join('; ')}. Load the same plugins, in compatible versions, on both sides.` : undefined
  }
}

function describeWire(version: unknown): string {
  return typeof version === 'number' ? String(version) : describe(version)
}
