/**
 * `echostream status`: a running server's state through the devtools plugin
 * (@echostream/plugin-devtools), which answers `devtools.snapshot` to a client whose hello carries
 * `{ devtoolsToken }`. Exported for other tools (a daemon's own `status` command reuses
 * `fetchStatus` + `formatStatus`).
 */
import { EchoError, ErrorCodes } from '@echostream/kernel'
import { connect, resolveTarget, rpcOf, type Target, type TargetOptions } from './client.js'
import { cliErrors } from './errors.js'

export const SNAPSHOT_METHOD = 'devtools.snapshot'
export const TOKEN_ENV = 'ECHOSTREAM_DEVTOOLS_TOKEN'

/** What `devtools.snapshot` returns (the devtools plugin's contract); unknown extra fields are kept. */
export interface DevtoolsSnapshot {
  server: {
    name?: string
    version: string
    kernelVersion: string
    pid: number
    uptimeMs: number
    url: string
    plugins: Array<{ name: string; version: string; options?: unknown; [key: string]: unknown }>
    draining: boolean
    [key: string]: unknown
  }
  sessions: unknown[]
  rooms: unknown[]
  streams: unknown[]
  clock: Record<string, unknown>
  rates: Record<string, unknown>
  errors: unknown[]
  [key: string]: unknown
}

export interface StatusOptions extends TargetOptions {
  /** The devtools token; default: ECHOSTREAM_DEVTOOLS_TOKEN. */
  token?: string
  timeoutMs?: number
}

/** Connects, asks for `devtools.snapshot`, disconnects. Coded errors: E_NO_DEVTOOLS, E_UNAUTHORIZED, E_CLOSED, E_TIMEOUT. */
export async function fetchStatus(options: StatusOptions, command = 'status'): Promise<{ target: Target; snapshot: DevtoolsSnapshot }> {
  const target = await resolveTarget(options, command)
  const token = options.token ?? process.env[TOKEN_ENV] ?? undefined
  let client
  try {
    client = await connect(target, { devtoolsToken: token, cwd: options.cwd })
    const snapshot = (await rpcOf(client, target.app?.configFile ?? 'the client').request(SNAPSHOT_METHOD, {}, { timeoutMs: options.timeoutMs ?? 10_000 })) as DevtoolsSnapshot
    if (!snapshot || typeof snapshot !== 'object' || !snapshot.server) throw new EchoError(ErrorCodes.E_PROTOCOL, `The server at ${target.url} answered ${SNAPSHOT_METHOD} with something that is not a snapshot: update @echostream/plugin-devtools on the server.`)
    return { target, snapshot }
  } catch (error) {
    const e = EchoError.from(error)
    if (e.code === ErrorCodes.E_METHOD_NOT_FOUND) throw cliErrors.noDevtools(target.url)
    if (e.code === ErrorCodes.E_UNAUTHORIZED) throw cliErrors.devtoolsRefused(target.url, e.message, Boolean(token))
    throw e
  } finally {
    await client?.stop().catch(() => {})
  }
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  return h < 24 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`
}

const count = (value: unknown) => (Array.isArray(value) ? value.length : 0)

/** Top-level numbers of an object as `key value` pairs (rates, clock), rounded for reading. */
function numbers(value: unknown): string {
  if (!value || typeof value !== 'object') return ''
  return Object.entries(value)
    .filter(([, v]) => typeof v === 'number' && Number.isFinite(v))
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : (v as number).toFixed(2)}`)
    .join(', ')
}

/** A short human summary of a snapshot. */
export function formatStatus(snapshot: DevtoolsSnapshot): string {
  const s = snapshot.server
  const lines = [
    `${s.name ? `${s.name} ` : ''}${s.url} — ${s.draining ? 'draining' : 'serving'}, pid ${s.pid}, up ${duration(s.uptimeMs)}, version ${s.version}, kernel ${s.kernelVersion}`,
    `plugins: ${s.plugins.map((p) => `${p.name}@${p.version}`).join(', ') || '(none)'}`,
    `sessions ${count(snapshot.sessions)}, rooms ${count(snapshot.rooms)}, streams ${count(snapshot.streams)}, recent errors ${count(snapshot.errors)}`,
  ]
  const rates = numbers(snapshot.rates)
  if (rates) lines.push(`rates: ${rates}`)
  const clock = numbers(snapshot.clock)
  if (clock) lines.push(`clock: ${clock}`)
  const last = Array.isArray(snapshot.errors) ? snapshot.errors.at(-1) : undefined
  if (last && typeof last === 'object') {
    const e = last as { code?: unknown; message?: unknown }
    lines.push(`last error: ${String(e.code ?? '')}${e.message ? `: ${String(e.message)}` : ''}`)
  }
  return lines.join('\n')
}
