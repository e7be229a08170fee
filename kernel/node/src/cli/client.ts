/**
 * How `call`, `status` and `inspect --url` reach a running server: the URL from `--url` or from
 * the app's config (its transport's host and port), and a client made of the config's transport,
 * codec and rpc plugins (so it speaks what the server speaks), or of @echostream/preset-default
 * when there is no config. Devtools credentials ride in the hello (`devtoolsToken`).
 */
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EchoError, ErrorCodes, kernelOf, type Assembly, type EchoClientOf, type EchoConfig, type PluginDefinition } from '@echostream/kernel'
import { findConfigFile } from '../config-file.js'
import { createClient, resolveConfig } from '../create.js'
import { validateOptions } from '../validate.js'
import { cliErrors } from './errors.js'

export type AppConfig = Assembly & { configFile?: string }

export interface TargetOptions {
  /** `--url`. */
  url?: string
  /** `--config`. */
  config?: string
  cwd?: string
}

export interface Target {
  url: string
  /** The app's config when one was found (its handler modules name methods for "did you mean"). */
  app?: AppConfig
}

/**
 * The config in `--config` or the one found in `cwd`; undefined when there is none. With `--url`
 * and no `--config`, a config that fails to load is skipped (the URL is all that is needed).
 */
export async function appConfig(options: TargetOptions): Promise<AppConfig | undefined> {
  const cwd = options.cwd ?? process.cwd()
  const file = options.config ?? (await findConfigFile(cwd))
  if (!file) return undefined
  if (options.url && !options.config) return resolveConfig(file, 'server', { cwd }).catch(() => undefined)
  try {
    return await resolveConfig(file, 'server', { cwd })
  } catch (error) {
    const e = EchoError.from(error)
    if (options.url) throw e
    throw new EchoError(e.code, `${e.message} (The server's address is read from this config: pass --url ws://HOST:PORT to skip it.)`, { data: e.data, cause: e })
  }
}

/** A plugin's options in the app's config, or undefined when the config does not load it. */
export function pluginOptionsOf(app: AppConfig | undefined, name: string): Record<string, unknown> | undefined {
  return app?.plugins.find((p) => p.definition.name === name)?.options
}

const ANY_HOST = new Set(['0.0.0.0', '::', ''])

/** The URL a config's server listens on, from its transport's options (defaults applied). */
export function urlFromConfig(app: AppConfig, command: string): string {
  const label = app.configFile ?? 'the config'
  for (const { definition, options } of app.plugins) {
    const scheme = definition.name === 'transport-ws' ? 'ws' : definition.name === 'transport-tcp' ? 'tcp' : undefined
    if (!scheme) continue
    const o = validateOptions(definition.schema, options, `plugin '${definition.name}'`, `options['${definition.name}']`) as { port?: number; host?: string; path?: string; tls?: { cert?: string } }
    if (!o.port) throw cliErrors.portZero(command, label, definition.name)
    const rawHost = o.host ?? '127.0.0.1'
    const host = ANY_HOST.has(rawHost) ? '127.0.0.1' : rawHost.includes(':') ? `[${rawHost}]` : rawHost
    const secure = o.tls?.cert ? 's' : ''
    const path = scheme === 'ws' && o.path && o.path !== '/' ? o.path : ''
    return `${scheme}${secure}://${host}:${o.port}${path}`
  }
  throw cliErrors.noTransport(label)
}

export async function resolveTarget(options: TargetOptions, command: string): Promise<Target> {
  const app = await appConfig(options)
  if (options.url) return { url: options.url, app }
  if (!app) throw cliErrors.noUrl(command, options.cwd ?? process.cwd())
  return { url: urlFromConfig(app, command), app }
}

const CLIENT_CAPABILITIES = new Set(['transport', 'codec', 'rpc'])
/** Transport options that mean something to a client; the rest (port, host, server TLS) are the server's. */
const CLIENT_TRANSPORT_OPTIONS = ['maxPayload', 'connectTimeoutMs', 'closeTimeoutMs', 'highWaterMark']

function clientConfigFrom(app: AppConfig, url: string): EchoConfig {
  const wanted = url.startsWith('tcp') ? 'transport-tcp' : 'transport-ws'
  const picked = app.plugins.filter(({ definition: d }) => (!d.roles || d.roles.includes('client')) && d.provides?.some((c) => CLIENT_CAPABILITIES.has(c)) && (!d.provides.includes('transport') || d.name === wanted))
  const options: Record<string, Record<string, unknown>> = {}
  for (const { definition, options: o } of picked) {
    const own = { ...(o ?? {}) }
    if (definition.provides?.includes('transport')) for (const key of Object.keys(own)) if (!CLIENT_TRANSPORT_OPTIONS.includes(key)) delete own[key]
    options[definition.name] = own
  }
  return { plugins: picked.map((p) => p.definition as PluginDefinition), options, url } as EchoConfig
}

export interface ConnectOptions {
  /** Hello credentials for the devtools plugin. */
  devtoolsToken?: string
  cwd?: string
}

/** A client whose plugins the CLI learns only at run time (the app's config, or the default preset). */
export type AnyClient = EchoClientOf<object>

/** A started client of the server at `target.url`. The caller stops it. */
export async function connect(target: Target, { devtoolsToken, cwd = process.cwd() }: ConnectOptions = {}): Promise<AnyClient> {
  let client: AnyClient
  if (target.app) client = await createClient(clientConfigFrom(target.app, target.url), { cwd: target.app.configFile ? dirname(target.app.configFile) : target.app.baseDir })
  else {
    // The preset from the current folder, else from beside this package (an app's node_modules).
    const attempt = async (from: string): Promise<AnyClient> => (await createClient({ preset: '@echostream/preset-default', url: target.url }, { cwd: from })) as unknown as AnyClient
    try {
      client = await attempt(cwd).catch(() => attempt(fileURLToPath(new URL('.', import.meta.url))))
    } catch (error) {
      const e = EchoError.from(error)
      if (e.code === ErrorCodes.E_CONFIG || e.code === ErrorCodes.E_PLUGIN) throw cliErrors.noClientPlugins(cwd, e.message)
      throw e
    }
  }
  if (devtoolsToken !== undefined) kernelOf(client).hooks.hello.tap('echostream-cli', (hello) => ({ ...hello, devtoolsToken }))
  await client.start()
  return client
}

type Requester = { request(method: string, params: unknown, options?: { timeoutMs?: number }): Promise<unknown> }

/** The client's rpc API, or E_PLUGIN when its config loads no rpc plugin. */
export function rpcOf(client: AnyClient, label: string): Requester {
  const rpc = (client as unknown as { rpc?: Requester }).rpc
  if (!rpc) throw cliErrors.noRpc(label)
  return rpc
}
