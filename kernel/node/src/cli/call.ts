/**
 * `echostream call <method> [params]`: one RPC to a running server (URL from `--url` or the app's
 * config), the JSON result on stdout. An unknown method gets the server's E_METHOD_NOT_FOUND plus
 * the close names among the methods the CLI can see: the app's handler modules (a server does not
 * list its methods to a client; methods registered in code are not visible here).
 */
import { EchoError, ErrorCodes } from '@echostream/kernel'
import { orList, suggest } from '../suggest.js'
import { connect, resolveTarget, rpcOf, type TargetOptions } from './client.js'

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
    throw new EchoError(e.code, `${e.message}${methodHint(method, target.app)}`, { data: e.data, cause: e })
  } finally {
    await client.stop().catch(() => {})
  }
}

function methodHint(method: string, app: Awaited<ReturnType<typeof resolveTarget>>['app']): string {
  if (!app) return ' (The server does not list its methods to clients; run the command in the app\'s folder to get suggestions from its handler modules.)'
  const known = app.handlers.flatMap((h) => h.definitions.filter((d) => d.kind === 'rpc').map((d) => d.name))
  const close = suggest(method, known)
  if (close.length) return ` Did you mean ${orList(close)}? (from the handler modules of ${app.configFile ?? 'the config'})`
  return known.length ? ` The config's handler modules define ${orList(known.slice(0, 10))}${known.length > 10 ? ', …' : ''}.` : ''
}
