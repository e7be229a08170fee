/**
 * The `echostream` command: `start` a server from a config file, `call` a method on a running
 * server, `inspect` what a config assembles to. Errors print their code and message, never a stack.
 */
import { parseArgs } from 'node:util'
import { EchoError, ErrorCodes, KERNEL_VERSION, kernelOf, orderPlugins, type EchoKernel, type Logger } from '@echostream/kernel'
import { createClient, createServer, resolveConfig } from './create.js'
import { validateOptions } from './validate.js'

const USAGE = `echostream ${KERNEL_VERSION}

Usage:
  echostream start   [--config FILE] [--print-config] [--drain-timeout MS]
  echostream call    <method> [json-params] --url ws://HOST:PORT [--config FILE] [--timeout MS]
  echostream inspect [--config FILE] [--json]

Without --config, the config is searched in the current directory: echostream.config.{ts,mjs,js,json,yaml},
.echostreamrc*, or an "echostream" key in package.json.`

const logger: Logger = {
  info: (m) => console.log(`[echostream] ${m}`),
  warn: (m) => console.warn(`[echostream] warning: ${m}`),
  error: (m) => console.error(`[echostream] error: ${m}`),
}

class UsageError extends Error {}

function fail(error: unknown): never {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n\n${USAGE}`)
    process.exit(2)
  }
  const e = EchoError.from(error)
  console.error(`${e.code}: ${e.message}`)
  if (process.env.ECHOSTREAM_DEBUG && e.cause) console.error(e.cause)
  process.exit(1)
}

async function start(values: Record<string, unknown>): Promise<void> {
  const config = values.config as string | undefined
  if (values['print-config']) {
    const assembly = await resolveConfig(config, 'server')
    const ordered = orderPlugins(assembly.plugins.map((p) => p.definition))
    const resolved = ordered.map((def) => {
      const raw = assembly.plugins.find((p) => p.definition === def)!.options
      return { name: def.name, version: def.version, options: validateOptions(def.schema, raw, `plugin '${def.name}'`, `options['${def.name}']`) }
    })
    console.log(JSON.stringify({ configFile: assembly.configFile, plugins: resolved, handlers: assembly.handlers.map((h) => h.source) }, null, 2))
    return
  }
  const server = await createServer(config, { logger })
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting`)
      process.exit(1)
    }
    stopping = true
    logger.info(`${signal}: draining and stopping`)
    server
      .drain(Number(values['drain-timeout'] ?? 10_000))
      .then(() => server.stop())
      .then(
      () => process.exit(0),
      (error) => {
        logger.error(EchoError.from(error).message)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  await server.start()
  logger.info(`listening on ${server.url}`)
  logger.info(`plugins: ${server.plugins().map((p) => `${p.name}@${p.version}`).join(', ')}`)
}

async function call(positionals: string[], values: Record<string, unknown>): Promise<void> {
  const [method, rawParams] = positionals
  if (!method) throw new UsageError('call: give the method name, e.g. echostream call math.add \'{"a":1,"b":2}\' --url ws://127.0.0.1:5000')
  let params: unknown
  try {
    params = rawParams === undefined ? undefined : JSON.parse(rawParams)
  } catch {
    throw new UsageError(`call: params must be JSON, got ${rawParams}`)
  }
  const url = values.url as string | undefined
  if (!url && !values.config) throw new UsageError('call: give --url ws://HOST:PORT (or --config with a client config that has a url)')
  const client = kernelOf(await createClient(values.config ? (values.config as string) : { preset: '@echostream/preset-default', url }, {})) as EchoKernel & {
    rpc?: { request(method: string, params: unknown, options?: { timeoutMs?: number }): Promise<unknown> }
  }
  if (url) client.url = url
  try {
    if (!client.rpc) throw new EchoError(ErrorCodes.E_PLUGIN, 'The client config loads no rpc plugin: add @echostream/plugin-rpc.')
    await client.start()
    const result = await client.rpc.request(method, params, values.timeout ? { timeoutMs: Number(values.timeout) } : {})
    console.log(JSON.stringify(result === undefined ? null : result, null, 2))
  } finally {
    await client.stop().catch(() => {})
  }
}

async function inspect(values: Record<string, unknown>): Promise<void> {
  const assembly = await resolveConfig(values.config as string | undefined, 'server')
  const ordered = orderPlugins(assembly.plugins.map((p) => p.definition))
  const rows = ordered.map((def, index) => {
    const entry = assembly.plugins.find((p) => p.definition === def)!
    const options = validateOptions(def.schema, entry.options, `plugin '${def.name}'`, `options['${def.name}']`)
    return { order: index + 1, name: def.name, version: def.version, source: entry.source, provides: def.provides ?? [], requires: def.requires ?? [], options }
  })
  if (values.json) {
    console.log(JSON.stringify({ configFile: assembly.configFile, plugins: rows, handlers: assembly.handlers.map((h) => ({ source: h.source, handlers: h.definitions.map((d) => `${d.kind} ${d.name}`) })) }, null, 2))
    return
  }
  console.log(`config: ${assembly.configFile ?? '(inline)'}`)
  console.log('plugins (setup order):')
  for (const r of rows) {
    console.log(`  ${r.order}. ${r.name}@${r.version}  from ${r.source}${r.provides.length ? `  provides ${r.provides.join(', ')}` : ''}${r.requires.length ? `  requires ${r.requires.join(', ')}` : ''}`)
    console.log(`     options ${JSON.stringify(r.options)}`)
  }
  if (assembly.handlers.length) {
    console.log('handlers:')
    for (const h of assembly.handlers) console.log(`  ${h.source}: ${h.definitions.map((d) => `${d.kind} ${d.name}`).join(', ')}`)
  }
}

async function main(): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        url: { type: 'string', short: 'u' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        'print-config': { type: 'boolean' },
        'drain-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.version) return void console.log(KERNEL_VERSION)
  if (values.help || !command) return void console.log(USAGE)
  switch (command) {
    case 'start':
      return start(values)
    case 'call':
      return call(rest, values)
    case 'inspect':
      return inspect(values)
    default:
      throw new UsageError(`Unknown command '${command}'.`)
  }
}

main().catch(fail)
