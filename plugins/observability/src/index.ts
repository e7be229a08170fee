/**
 * @echostream/plugin-observability: see a running server. pino logs (a child logger per session),
 * Prometheus metrics and Kubernetes health probes on an admin listener of its own.
 */
import { definePlugin, EchoError, monotonicMicros, Stage, type Frame, type Logger as KernelLoggerType, type Session } from '@echostream/kernel'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { startAdmin, type AdminServer } from './admin.js'
import { Readiness, type ReadinessCheck, type ReadinessReport } from './health.js'
import { openLogger } from './logger.js'
import { createMetrics } from './metrics.js'
import { schema, type ObservabilityOptions } from './options.js'
import { RpcTimer } from './rpc-timer.js'
import { version } from './version.js'

export { schema, LOG_LEVELS, type ObservabilityOptions, type LogLevel } from './options.js'
export { ObservabilityErrorCodes, observabilityErrors } from './errors.js'
export type { ReadinessCheck, ReadinessReport } from './health.js'

const PLUGIN = 'observability'

export interface ObservabilityApi {
  /** The server's root pino logger. */
  readonly logger: Logger
  /** A child logger bound to one session (`session`, `peer`): what plugins log per-session lines with. */
  sessionLogger(session: Session): Logger
  /** The prom-client registry: add your own metrics with `registers: [observability.registry]`. */
  readonly registry: Registry
  /**
   * Adds a readiness check (e.g. "broker connected"): `check` returns `true` when ready, or a
   * string saying why not. `/readyz` answers 503 while any fails. Returns the remove function.
   */
  addReadinessCheck(name: string, check: ReadinessCheck): () => void
  /** What `/readyz` answers now. */
  readiness(): Promise<ReadinessReport>
  /** The admin listener's URL (`http://127.0.0.1:9464`) once started; undefined with `admin: false`. */
  readonly adminUrl: string | undefined
}

declare module '@echostream/kernel' {
  interface KernelApi {
    observability: ObservabilityApi
  }
}

/** What this reads of plugin-clock-sync's server API (it is optional here). */
interface ClockLike {
  onPeerReading?(listener: (reading: { offsetUs: number; rttUs: number }) => void): () => void
}

/** pino's `(fields, message)` behind the kernel's `(message, fields?)`. */
function asKernelLogger(logger: Logger): KernelLoggerLike {
  return {
    info: (message, fields) => (fields === undefined ? logger.info(message) : logger.info(fields, message)),
    warn: (message, fields) => (fields === undefined ? logger.warn(message) : logger.warn(fields, message)),
    error: (message, fields) => (fields === undefined ? logger.error(message) : logger.error(fields, message)),
    debug: (message, fields) => (fields === undefined ? logger.debug(message) : logger.debug(fields, message)),
  }
}
type KernelLoggerLike = Required<Pick<KernelLoggerType, 'info' | 'warn' | 'error' | 'debug'>>

export default definePlugin<ObservabilityOptions>({
  name: PLUGIN,
  version,
  kernel: '^1.0.0',
  provides: ['observability'],
  optional: ['clock'],
  roles: ['server'],
  schema,
  setup(kernel, options) {
    const { logger, flush } = openLogger(options, kernel.baseDir)
    const metrics = createMetrics(kernel, options)
    const readiness = new Readiness()
    const rpc = new RpcTimer(metrics.rpcDuration)
    const children = new WeakMap<Session, Logger>()
    let admin: AdminServer | undefined
    let listening = false
    let draining = false

    const sessionLogger = (session: Session): Logger => {
      let child = children.get(session)
      if (!child) {
        child = logger.child({ session: session.id || undefined, peer: session.peer })
        // Kept once the session has its id (a child made during the handshake would lack it).
        if (session.id) children.set(session, child)
      }
      return child
    }

    // The kernel's own lines (connects, disconnects, refusals, protocol errors) and every plugin's
    // `kernel.logger` go to pino from here on; `forSession` gives them the per-session child.
    kernel.useLogger({ ...asKernelLogger(logger), forSession: (session: Session) => asKernelLogger(sessionLogger(session)) })

    readiness.add('server', () => {
      if (draining) return 'draining'
      if (kernel.state !== 'started') return `kernel ${kernel.state}`
      return listening || 'not listening yet'
    })

    kernel.expose(PLUGIN, {
      logger,
      sessionLogger,
      registry: metrics.registry,
      addReadinessCheck: (name: string, check: ReadinessCheck) => readiness.add(name, check),
      readiness: () => readiness.check(),
      get adminUrl() {
        return admin?.url
      },
    } satisfies ObservabilityApi)

    // ------------------------------------------------------------ clients' clocks (clock-sync, when loaded)
    let offClock: (() => void) | undefined
    kernel.hooks.init.tapPromise(PLUGIN, async () => {
      const clock = (kernel as unknown as { clock?: ClockLike }).clock
      offClock = clock?.onPeerReading?.((r) => {
        metrics.clockOffset.observe(r.offsetUs / 1e6)
        metrics.clockRtt.observe(r.rttUs / 1e6)
      })
    })

    // ------------------------------------------------------------ lifecycle
    kernel.hooks.start.tapPromise({ name: PLUGIN, stage: Stage.FIRST }, async () => {
      if (options.admin) admin = await startAdmin(options.host, options.port, metrics.registry, readiness)
    })
    kernel.hooks.listening.tap(PLUGIN, (url) => {
      listening = true
      logger.info({ url, admin: admin?.url, plugins: kernel.plugins().map((p) => p.name) }, 'listening')
    })
    kernel.hooks.drain.tapPromise(PLUGIN, async (deadline) => {
      draining = true
      logger.info({ sessions: kernel.sessions().length, deadlineMs: Math.max(0, deadline - Date.now()) }, 'draining: refusing new connections')
    })
    kernel.hooks.stop.tap(PLUGIN, () => {
      draining = true
      logger.info({ sessions: kernel.sessions().length }, 'stopping')
    })
    kernel.hooks.destroy.tapPromise(PLUGIN, async () => {
      await admin?.close()
      admin = undefined
      logger.info('stopped')
      flush()
    })

    // ------------------------------------------------------------ sessions
    // The lines about sessions are the kernel's (through the logger installed above); here: metrics.
    kernel.hooks.connect.tapPromise({ name: PLUGIN, stage: Stage.LAST }, async () => {
      metrics.connects.inc()
    })
    kernel.hooks.resumed.tap(PLUGIN, () => {
      metrics.resumes.inc()
    })
    kernel.hooks.disconnect.tap(PLUGIN, (session, { code }) => {
      metrics.disconnects.inc({ code: String(code) })
      rpc.forget(session)
    })
    kernel.hooks.protocolError.tap(PLUGIN, (error: EchoError, session: Session | undefined) => {
      const code = typeof error?.code === 'string' ? error.code.slice(0, 40) : 'E_UNKNOWN'
      metrics.errors.inc({ code, source: 'protocol' })
      if (session?.state === 'handshaking') metrics.refusals.inc({ code })
    })

    // ------------------------------------------------------------ frames (the hot path)
    const inbound = metrics.inbound
    const outbound = metrics.outbound
    kernel.hooks.inbound.tap({ name: PLUGIN, stage: Stage.FIRST }, (frame: Frame | null, session: Session, size: number) => {
      if (frame === null) return frame
      const kind = frame.kind
      inbound.add(kind, size)
      if (kind.charCodeAt(0) === 114 /* r */ && kind.startsWith('rpc.')) rpc.inbound(frame, session, monotonicMicros())
      return frame
    })
    kernel.hooks.sent.tap(PLUGIN, (bytes: Uint8Array, frame: Frame, session: Session) => {
      const kind = frame.kind
      outbound.add(kind, bytes.byteLength)
      if (kind.charCodeAt(0) === 114 /* r */ && kind.startsWith('rpc.')) {
        const failed = rpc.sent(frame, session, monotonicMicros())
        // A handler that threw something not an EchoError (E_INTERNAL) is logged at error by the rpc plugin, through this logger.
        if (failed !== undefined) metrics.errors.inc({ code: failed.code, source: 'rpc' })
      }
    })
    // Per-frame lines only when trace is on at setup: no cost at all otherwise.
    if (logger.isLevelEnabled('trace')) {
      kernel.hooks.inbound.tap({ name: `${PLUGIN}-trace`, stage: Stage.LAST }, (frame: Frame | null, session: Session, size: number) => {
        if (frame) sessionLogger(session).trace({ dir: 'in', kind: frame.kind, id: frame.id, name: frame.name, size }, 'frame')
        return frame
      })
      kernel.hooks.sent.tap(`${PLUGIN}-trace`, (bytes: Uint8Array, frame: Frame, session: Session) => {
        sessionLogger(session).trace({ dir: 'out', kind: frame.kind, id: frame.id, name: frame.name, size: bytes.byteLength }, 'frame')
      })
    }
    logger.debug({ options: { ...options } }, 'observability set up')

    return () => {
      offClock?.()
      flush()
      return admin?.close()
    }
  },
})
