/**
 * Start, drain and stop. `start` runs the `start` taps, then listens (server) or connects (client);
 * a failed start still releases everything. `stop` runs `stop` taps in reverse order, closes every
 * session (a server with 1001, going away; a client with 1000, a deliberate end), runs `destroy`
 * taps in reverse, then every plugin's disposers — each step even when an earlier one failed.
 */
import { EchoError, ErrorCodes, messageOf } from './errors.js'
import { kernelErrors } from './kernel-errors.js'
import { CloseCodes } from './frame.js'
import { callTap, type PluginHost } from './host.js'
import { SERVER_BUILD } from './server-build.js'
import type { Pipeline } from './pipeline.js'
import type { ClientHandshake } from './handshake/client.js'
import type { ServerHandshake } from './handshake/server.js'
import type { Kernel } from './kernel.js'

export type KernelState = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped'

export class Lifecycle {
  state: KernelState = 'idle'

  constructor(
    private readonly kernel: Kernel,
    private readonly host: PluginHost,
    private readonly pipeline: Pipeline,
    private readonly handshake: ServerHandshake | ClientHandshake,
  ) {}

  async start(): Promise<void> {
    if (this.state !== 'idle') throw kernelErrors.cannotStart(this.state)
    this.state = 'starting'
    try {
      const transport = this.kernel.transport
      if (!transport || !this.kernel.codec) throw kernelErrors.missingWire(transport ? 'codec' : 'transport')
      await this.host.hooks.start.promise()
      if (SERVER_BUILD && this.kernel.role === 'server') {
        const server = this.handshake as ServerHandshake
        this.kernel.url = await transport.listen((connection) => server.accept(connection))
        this.host.hooks.listening.call(this.kernel.url)
      } else await (this.handshake as ClientHandshake).connect(transport)
      this.state = 'started'
    } catch (error) {
      // A failed start still releases everything: stop/destroy run in reverse order.
      await this.#shutdown().catch((e) => this.kernel.logger.error(`stop after failed start: ${messageOf(e)}`))
      throw EchoError.from(error, ErrorCodes.E_PLUGIN)
    }
  }

  /** Refuses new connections and gives `drain` taps until the deadline to finish in-flight work. */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (this.state !== 'started') return
    if (SERVER_BUILD && this.kernel.role === 'server') (this.handshake as ServerHandshake).draining = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
    try {
      await Promise.race([this.host.hooks.drain.promise(Date.now() + timeoutMs), deadline])
    } catch (error) {
      this.kernel.reportError(error, 'drain')
    } finally {
      clearTimeout(timer)
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return
    await this.#shutdown()
  }

  async #shutdown(): Promise<void> {
    this.state = 'stopping'
    const errors: unknown[] = []
    errors.push(...(await this.#runReversed('stop')))
    try {
      if (SERVER_BUILD && this.kernel.role === 'server') await this.kernel.transport?.close()
    } catch (error) {
      errors.push(error)
    }
    const going = SERVER_BUILD && this.kernel.role === 'server' ? { code: CloseCodes.goingAway, reason: 'server stopping' } : { code: CloseCodes.normal, reason: 'client stopping' }
    for (const session of this.pipeline.sessions.values()) this.pipeline.closeSession(session, going.code, going.reason)
    const own = this.kernel.session
    if (own) this.pipeline.closeSession(own as never, going.code, going.reason)
    if (!SERVER_BUILD || this.kernel.role === 'client') (this.handshake as ClientHandshake).abort()
    errors.push(...(await this.#runReversed('destroy')))
    // Disposed, not removed: a stopped kernel keeps its APIs so late calls get a coded error (E_CLOSED…), not a TypeError.
    for (const record of [...this.host.records].reverse()) errors.push(...(await this.host.dispose(record.def.name)))
    this.host.records = []
    this.state = 'stopped'
    if (errors.length) {
      for (const e of errors) this.kernel.logger.error(`stop: ${messageOf(e)}`)
      throw EchoError.is(errors[0]) ? errors[0] : new EchoError(ErrorCodes.E_PLUGIN, `Stopping failed: ${messageOf(errors[0])}`, { cause: errors[0] })
    }
  }

  /** Runs every tap of a lifecycle hook in reverse order; each runs even if an earlier one failed. */
  async #runReversed(name: 'stop' | 'destroy'): Promise<unknown[]> {
    const errors: unknown[] = []
    for (const tap of [...this.host.hooks[name].taps].reverse()) {
      try {
        await callTap(tap as never)
      } catch (error) {
        errors.push(error)
      }
    }
    return errors
  }
}
