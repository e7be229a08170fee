/**
 * `echostream call <method> [params]`: one RPC to a running server (URL from `--url` or the app's
 * config), the JSON result on stdout. An unknown method gets the server's E_METHOD_NOT_FOUND plus
 * the close names among the methods the CLI can see: the `defineRpc` methods of the app's handler
 * modules, and, when a devtools token is at hand (ECHOSTREAM_DEVTOOLS_TOKEN or the config's
 * devtools.token), the methods the server answered recently (its devtools snapshot's
 * `rates.methods`). A server does not list its methods to an ordinary client: that would hand the
 * method table to anyone who connects.
 */
import { EchoError, ErrorCodes } from '@echostream/kernel'
import { orList, suggest } from '../suggest.js'
import { connect, pluginOptionsOf, resolveTarget, rpcOf, type AppConfig, type Target, type TargetOptions } from './client.js'
import { fetchStatus, TOKEN_ENV } from './status.js'

export interface CallOptions extends TargetOptions {
  timeout?: number
}

export async function call(method: string, params: unknown, options: CallOptions): Promise<void> {
  const target = await resolveTarget(options, 'call')
  const client = await connect(target, { cwd: options.cwd })
  try {
    const rpc = rpcOf(client, target.app?.configFile ?? 'the client config')
    const result = await rpc.request(method, params, options.timeout !== undefined ? { timeoutMs: options.timeout } : {})
    console.log(JSON.stringify(result === undefined ? null : result, null, 2))
  } catch (error) {
    const e = EchoError.from(error)
    if (e.code !== ErrorCodes.E_METHOD_NOT_FOUND) throw e
    throw new EchoError(e.code, `${e.message}${await methodHint(method, target, options)}`, { data: e.data, cause: e })
  } finally {
    await client.stop().catch(() => {})
  }
}

/** Methods the server answered recently, from its devtools snapshot; none without a token or the plugin. */
async function recentMethods(target: Target, options: CallOptions): Promise<string[] | undefined> {
  const configured = pluginOptionsOf(target.app, 'devtools')?.token
  const token = process.env[TOKEN_ENV] || (typeof configured === 'string' ? configured : undefined)
  if (!token) return undefined
  try {
    const { snapshot } = await fetchStatus({ url: target.url, config: options.config, cwd: options.cwd, token, timeoutMs: 5000 }, 'call')
    const methods = (snapshot.rates as { methods?: Array<{ method?: unknown }> }).methods ?? []
    return methods.map((m) => m.method).filter((m): m is string => typeof m === 'string' && m !== 'other' && !m.startsWith('devtools.'))
  } catch {
    return undefined
  }
}

async function methodHint(method: string, target: Target, options: CallOptions): Promise<string> {
  const app: AppConfig | undefined = target.app
  const fromModules = app ? app.handlers.flatMap((h) => h.definitions.filter((d) => d.kind === 'rpc').map((d) => d.name)) : []
  const fromServer = await recentMethods(target, options)
  if (!app && !fromServer) {
    return " (The server does not list its methods to clients: for suggestions, run the command in the app's folder (its handler modules) or set ECHOSTREAM_DEVTOOLS_TOKEN (the methods it answered recently, through the devtools plugin).)"
  }
  const sources = [...(app ? [`the handler modules of ${app.configFile ?? 'the config'}`] : []), ...(fromServer ? ['the methods the server answered recently'] : [])].join(' and ')
  // The server counts the failed call itself among the methods it answered.
  const known = [...new Set([...fromModules, ...(fromServer ?? [])])].filter((m) => m !== method)
  const close = suggest(method, known)
  if (close.length) return ` Did you mean ${orList(close)}? (from ${sources})`
  return known.length ? ` Known from ${sources}: ${orList(known.slice(0, 10))}${known.length > 10 ? ', …' : ''}.` : ''
}
