/**
 * `echostream start`: assemble the server from the config, print its URL and pid, run until
 * SIGINT/SIGTERM, then drain, stop and exit 0 (the port is free when the process has exited).
 *
 * Through `npm start` / `npx`: npm runs the script with `sh -c` and forwards SIGTERM/SIGINT to that
 * shell, not to this process. dash (Debian's sh) does not exec a single command: it stays as our
 * parent and dies of the SIGTERM, leaving this server orphaned and listening (what issue 15 saw).
 * So a server started by npm (`npm_lifecycle_event` or `npm_command` set) watches its parent
 * every PARENT_CHECK_MS and, once it is gone, drains and exits 0 like on SIGTERM. A server
 * started otherwise (a shell, systemd, `nohup … &`) does not watch its parent.
 *
 * Ctrl+C, `docker stop` and `kill -- -PGID` signal the whole process group: npm, its shell and this
 * server at once, so the shell dies of it too and this server sees both. It is one event, and the
 * server reports the signal it got: Linux marks every process of the group before any of them
 * can exit and be reaped, so once `process.ppid` shows the shell gone, that signal has already
 * been caught by libuv (its pipe written); Node hands it to the 'SIGTERM' listener in the loop's
 * poll phase. The parent check runs in the timers phase, before that, so it defers its verdict to
 * a `setImmediate` (the check phase, after the poll phase): by then a group signal has started
 * the drain and "parent ended" is not said. And a signal that comes while a drain started for
 * the parent's end joins that drain: only a second *signal* means "exit now".
 */
import { EchoError, orderPlugins } from '@echostream/kernel'
import { createServer, resolveConfig, withPluginOptions } from '../create.js'
import { validateOptions } from '../validate.js'
import { cliLogger, type LogFormat, type LogLevel } from './log.js'

export interface StartOptions {
  config?: string
  printConfig?: boolean
  drainTimeout: number
  logLevel?: LogLevel
  logFormat?: LogFormat
}

/** How often an npm-started server checks that npm is still there. */
const PARENT_CHECK_MS = 250

export async function start(options: StartOptions): Promise<void> {
  // --log-level / --log-format: for the observability plugin when the config loads it, and for these lines.
  const observability = { ...(options.logLevel ? { level: options.logLevel } : {}), ...(options.logFormat ? { format: options.logFormat } : {}) }
  const pluginOptions = Object.keys(observability).length ? { observability } : undefined
  if (options.printConfig) {
    const assembly = withPluginOptions(await resolveConfig(options.config, 'server'), pluginOptions)
    const ordered = orderPlugins(assembly.plugins.map((p) => p.definition))
    const resolved = ordered.map((def) => {
      const raw = assembly.plugins.find((p) => p.definition === def)!.options
      return { name: def.name, version: def.version, options: validateOptions(def.schema, raw, `plugin '${def.name}'`, `options['${def.name}']`) }
    })
    console.log(JSON.stringify({ configFile: assembly.configFile, plugins: resolved, handlers: assembly.handlers.map((h) => h.source) }, null, 2))
    return
  }
  const logger = cliLogger(options.logLevel, options.logFormat)
  const server = await createServer(options.config, { logger, pluginOptions })
  let stopping = false
  let signals = 0
  const shutdown = (why: string, signal: boolean) => {
    if (signal && ++signals > 1) {
      logger.warn(`${why} again: exiting without waiting`)
      process.exit(1)
    }
    if (stopping) {
      // the parent's end started the drain; this first signal joins it
      logger.info(`${why}: draining and stopping`)
      return
    }
    stopping = true
    logger.info(`${why}: draining and stopping`)
    server
      .drain(options.drainTimeout)
      .then(() => server.stop())
      .then(
        () => {
          logger.info('stopped')
          process.exit(0)
        },
        (error) => {
          logger.error(EchoError.from(error).message)
          process.exit(1)
        },
      )
  }
  process.on('SIGINT', () => shutdown('SIGINT', true))
  process.on('SIGTERM', () => shutdown('SIGTERM', true))
  // A closed terminal or a reader that went away must not crash a draining server (EPIPE).
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})
  if (process.env.npm_lifecycle_event || process.env.npm_command) {
    const parent = process.ppid
    const watch = setInterval(() => {
      if (process.ppid === parent || stopping) return
      clearInterval(watch)
      // After the poll phase, which hands over a signal the whole group got (see the top).
      setImmediate(() => {
        if (!stopping) shutdown(`parent process ${parent} (npm's shell) ended`, false)
      })
    }, PARENT_CHECK_MS).unref()
  }
  await server.start()
  logger.info(`listening on ${server.url} (pid ${process.pid})`)
  logger.info(`plugins: ${server.plugins().map((p) => `${p.name}@${p.version}`).join(', ')}`)
}
