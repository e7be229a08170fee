/**
 * @echostream/plugin-devtools: a live page that shows what a running server holds — sessions,
 * rooms, streams (credit and what each waits for), client clocks, call rates, recent errors —
 * over its own echostream connection, and the RPC behind it (`devtools.snapshot`) that
 * `echostream status` / `inspect --url` use too. Devtools clients prove themselves with a token
 * in `hello.devtoolsToken`; a wrong token is refused at the handshake, and sessions without one
 * cannot call `devtools.*` methods.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { definePlugin, Stage, type Action, type DevtoolsSnapshot, type EchoError, type Frame, type HelloPayload, type KernelApi, type PluginKernel, type Session } from '@echostream/kernel'
import type {} from '@echostream/plugin-rpc'
import type {} from '@echostream/plugin-events'
import { Collector } from './collector.js'
import { devtoolsErrors } from './errors.js'
import { schema, SNAPSHOT_METHOD, TOKEN_FIELD, UPDATE_EVENT, type DevtoolsOptions } from './options.js'
import { startPageServer, type PageServer } from './page-server.js'
import { takeSnapshot } from './snapshot.js'
import { version } from './version.js'

export { schema, SNAPSHOT_METHOD, TOKEN_FIELD, UPDATE_EVENT, type DevtoolsOptions } from './options.js'
export { DevtoolsErrorCodes, devtoolsErrors } from './errors.js'
export { browserBundle } from './page-server.js'
/** The snapshot's types are the kernel's (the CLI reads them too); re-exported as this plugin's contract. */
export type { DevtoolsServerInfo, DevtoolsSession, DevtoolsRoom, DevtoolsStream, DevtoolsClockReading, DevtoolsClock, DevtoolsRates, DevtoolsError, DevtoolsSnapshot } from '@echostream/kernel'

const PLUGIN = 'devtools'

export interface DevtoolsApi {
  /** Server: the snapshot now. Client: asks the server for one (`devtools.snapshot`). */
  snapshot(options?: { timeoutMs?: number }): Promise<DevtoolsSnapshot>
  /** Calls `listener` with every `devtools.update` (server: each one pushed; client: each one received). Returns its unsubscribe. */
  onUpdate(listener: (snapshot: DevtoolsSnapshot) => void): () => void
  /** Server: the token devtools clients must present (given, or generated at setup). Client: the one it sends. */
  readonly token: string
  /** Server: the page's address (`http://127.0.0.1:9465`) once started; undefined with `http: false` and on a client. */
  readonly pageUrl: string | undefined
  /** Server: whether `session` presented the right token. */
  isDevtools(session: Session): boolean
}

declare module '@echostream/kernel' {
  interface KernelApi {
    devtools: DevtoolsApi
  }
  interface PluginApis {
    '@echostream/plugin-devtools': Pick<KernelApi, 'devtools'>
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** `name`/`version` of the package.json in the config's folder, when there is one. */
function appPackage(baseDir: string): { name?: string; version?: string } {
  try {
    const pkg = JSON.parse(readFileSync(join(baseDir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown }
    return { name: typeof pkg.name === 'string' ? pkg.name : undefined, version: typeof pkg.version === 'string' ? pkg.version : undefined }
  } catch {
    return {}
  }
}

function setupClient(kernel: PluginKernel, options: DevtoolsOptions): void {
  const token = options.token
  if (token === undefined) throw devtoolsErrors.clientWithoutToken()
  kernel.hooks.hello.tap(PLUGIN, (hello: HelloPayload) => ({ ...hello, [TOKEN_FIELD]: token }))
  kernel.expose(PLUGIN, {
    snapshot: (opts?: { timeoutMs?: number }) => kernel.rpc.request(SNAPSHOT_METHOD, undefined, opts) as Promise<DevtoolsSnapshot>,
    onUpdate(listener: (snapshot: DevtoolsSnapshot) => void) {
      // Updates arrive as events: without the events plugin there are none (poll snapshot() instead).
      if (!(kernel as Partial<KernelApi>).events) throw devtoolsErrors.updatesNeedEvents()
      return kernel.events.on(UPDATE_EVENT, (data: DevtoolsSnapshot) => listener(data))
    },
    token,
    pageUrl: undefined,
    isDevtools: () => false,
  } satisfies DevtoolsApi)
}

export default definePlugin<DevtoolsOptions, Pick<KernelApi, 'devtools'>>({
  name: PLUGIN,
  version,
  kernel: '^1.0.0',
  provides: ['devtools'],
  requires: ['rpc'],
  optional: ['events', 'streams', 'clock', 'observability'],
  schema,
  setup(kernel, options) {
    if (kernel.role === 'client') return setupClient(kernel, options)

    const generated = options.token === undefined
    const token = options.token ?? randomBytes(24).toString('base64url')
    const expected = digest(token)
    const devtools = new Set<Session>()
    const subscribers = new Set<Session>()
    const collector = new Collector(options.maxErrors)
    const updateListeners = new Set<(snapshot: DevtoolsSnapshot) => void>()
    const pkg = appPackage(kernel.baseDir)
    const app = { name: options.name ?? pkg.name, version: options.version ?? pkg.version }
    let page: PageServer | undefined
    let startedAt = Date.now()
    let draining = false
    let ticker: ReturnType<typeof setInterval> | undefined
    let pusher: ReturnType<typeof setInterval> | undefined

    const isDevtools = (session: Session) => devtools.has(session)
    const snapshot = (): DevtoolsSnapshot =>
      takeSnapshot({ kernel, collector, options, app, isDevtools, startedAt: () => startedAt, draining: () => draining })

    // ------------------------------------------------------------ who is a devtools client
    kernel.registerCredentials(TOKEN_FIELD)
    kernel.hooks.connect.tapPromise({ name: PLUGIN, stage: Stage.FIRST }, async (session) => {
      const given = session.handshake[TOKEN_FIELD]
      if (given === undefined) return
      // Compare digests in constant time: equal lengths, and nothing learnt from how long it took.
      if (typeof given !== 'string' || given.length > 512 || !timingSafeEqual(digest(given), expected)) throw devtoolsErrors.wrongToken()
      devtools.add(session)
      // Updates go as events: only to a client that speaks the events plugin (a bare RPC client, e.g. a script, polls).
      const plugins = session.handshake.plugins as Record<string, unknown> | undefined
      if (plugins?.events !== undefined && (kernel as Partial<KernelApi>).events) subscribers.add(session)
    })
    kernel.hooks.disconnect.tap(PLUGIN, (session) => {
      devtools.delete(session)
      subscribers.delete(session)
    })
    kernel.hooks.authorize.tap({ name: PLUGIN, stage: Stage.FIRST }, (action: Action, session: Session): EchoError | undefined => {
      if (action.kind === 'rpc' && action.name.startsWith('devtools.') && !devtools.has(session)) return devtoolsErrors.notDevtools(action.name)
      return undefined
    })
    kernel.rpc.handle(SNAPSHOT_METHOD, (_params: unknown, ctx) => {
      // The authorize tap refuses first; this holds even if another plugin's tap bails earlier with "allowed".
      if (!devtools.has(ctx.session)) throw devtoolsErrors.notDevtools(SNAPSHOT_METHOD)
      return snapshot()
    })

    // ------------------------------------------------------------ counting (the hot path)
    kernel.hooks.inbound.tap({ name: PLUGIN, stage: Stage.FIRST }, (frame: Frame | null, session: Session, size: number) => {
      if (frame !== null) collector.inbound(frame, session, size)
      return frame
    })
    kernel.hooks.sent.tap(PLUGIN, (bytes: Uint8Array, frame: Frame, session: Session) => collector.sent(frame, session, bytes.byteLength))
    kernel.hooks.protocolError.tap(PLUGIN, (error: EchoError, session: Session | undefined) =>
      collector.error({ source: 'protocol', code: error?.code, message: error?.message }, session),
    )

    // ------------------------------------------------------------ live updates
    const push = () => {
      if (subscribers.size === 0 && updateListeners.size === 0) return
      const snap = snapshot()
      for (const listener of updateListeners) {
        try {
          listener(snap)
        } catch (error) {
          kernel.reportError(error, 'a devtools.onUpdate listener')
        }
      }
      for (const session of subscribers) {
        if (session.state !== 'open') continue
        try {
          // Volatile: a devtools page that reads slowly misses updates, it never costs the server memory.
          session.emit(UPDATE_EVENT, snap, { volatile: true })
        } catch (error) {
          kernel.reportError(error, 'pushing devtools.update', session)
        }
      }
    }
    const stopTimers = () => {
      clearInterval(ticker)
      clearInterval(pusher)
      ticker = pusher = undefined
    }

    // ------------------------------------------------------------ lifecycle
    kernel.hooks.start.tapPromise(PLUGIN, async () => {
      if (options.http) page = await startPageServer(options.host, options.port, () => options.url ?? kernel.url ?? '')
    })
    kernel.hooks.listening.tap(PLUGIN, () => {
      startedAt = Date.now()
      ticker = setInterval(() => collector.tick(), 1000)
      pusher = setInterval(push, options.intervalMs)
      ticker.unref?.()
      pusher.unref?.()
      const where = page ? `the devtools page is at ${page.url}/#token=` : 'devtools clients connect with the token '
      // Logged once; a configured token is the operator's to know and is never written out.
      if (generated) kernel.logger.info(`devtools: ${where}${token} (a token made for this run: set options.devtools.token to keep one)`)
      else kernel.logger.info(`devtools: ${page ? `the devtools page is at ${page.url}/ (add #token=<options.devtools.token>)` : 'ready (token from options.devtools.token)'}`)
    })
    kernel.hooks.drain.tapPromise(PLUGIN, async () => {
      draining = true
    })
    kernel.hooks.stop.tapPromise(PLUGIN, async () => {
      draining = true
      stopTimers()
    })
    kernel.hooks.destroy.tapPromise(PLUGIN, async () => {
      await page?.close()
      page = undefined
    })

    kernel.expose(PLUGIN, {
      snapshot: async () => snapshot(),
      onUpdate(listener: (snapshot: DevtoolsSnapshot) => void) {
        updateListeners.add(listener)
        return () => void updateListeners.delete(listener)
      },
      token,
      get pageUrl() {
        return page?.url
      },
      isDevtools,
    } satisfies DevtoolsApi)

    return async () => {
      stopTimers()
      await page?.close()
      page = undefined
    }
  },
})
