/**
 * `echostream status`: a running server's state through the devtools plugin
 * (@echostream/plugin-devtools), which answers `devtools.snapshot` to a client whose hello carries
 * `{ devtoolsToken }`. Exported for other tools (a daemon's own `status` command reuses
 * `fetchStatus` + `formatStatus`).
 */
import { EchoError, ErrorCodes, type DevtoolsClock, type DevtoolsRates, type DevtoolsSnapshot } from '@echostream/kernel'
import { connect, pluginOptionsOf, resolveTarget, rpcOf, type Target, type TargetOptions } from './client.js'
import { cliErrors } from './errors.js'

export const SNAPSHOT_METHOD = 'devtools.snapshot'
export const TOKEN_ENV = 'ECHOSTREAM_DEVTOOLS_TOKEN'

export interface StatusOptions extends TargetOptions {
  /** The devtools token; default: ECHOSTREAM_DEVTOOLS_TOKEN, else the `devtools.token` option of the app's config. */
  token?: string
  timeoutMs?: number
}

/**
 * Connects, asks for `devtools.snapshot`, disconnects. Coded errors: E_NO_DEVTOOLS, E_UNAUTHORIZED,
 * E_CLOSED, E_TIMEOUT. The answer's type, `DevtoolsSnapshot`, is the devtools plugin's contract,
 * defined once in the kernel; the formatting below still reads each field defensively (the server
 * may run another version of the plugin), and `--json` prints the answer as it came.
 */
export async function fetchStatus(options: StatusOptions, command = 'status'): Promise<{ target: Target; snapshot: DevtoolsSnapshot }> {
  const target = await resolveTarget(options, command)
  const configured = pluginOptionsOf(target.app, 'devtools')?.token
  const token = options.token ?? (process.env[TOKEN_ENV] || undefined) ?? (typeof configured === 'string' ? configured : undefined)
  let client
  try {
    client = await connect(target, { devtoolsToken: token, cwd: options.cwd })
    const snapshot = (await rpcOf(client, target.app?.configFile ?? 'the client').request(SNAPSHOT_METHOD, {}, { timeoutMs: options.timeoutMs ?? 10_000 })) as DevtoolsSnapshot
    if (!snapshot || typeof snapshot !== 'object' || !snapshot.server) throw cliErrors.notASnapshot(target.url, SNAPSHOT_METHOD)
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

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)
const rounded = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1))
const total = (listed: unknown, counted: unknown) => num(counted) ?? (Array.isArray(listed) ? listed.length : 0)

function ratesLine(rates: Partial<DevtoolsRates>): string | undefined {
  const parts: string[] = []
  for (const [key, label] of [['callsPerSec', 'calls'], ['eventsPerSec', 'events'], ['framesInPerSec', 'frames in'], ['framesOutPerSec', 'frames out']] as const) {
    const v = num(rates[key])
    if (v !== undefined) parts.push(`${label} ${rounded(v)}/s`)
  }
  const calls = num(rates.callsTotal)
  const errors = num(rates.errorsTotal)
  if (calls !== undefined) parts.push(`${calls} calls`)
  if (errors !== undefined) parts.push(`${errors} errors`)
  return parts.length ? parts.join(', ') : undefined
}

function methodsLine(rates: Partial<DevtoolsRates>): string | undefined {
  const methods = Array.isArray(rates.methods) ? (rates.methods as Array<{ method?: unknown; calls?: unknown }>) : []
  // The devtools plugin's own methods (this very status call among them) are left out.
  const named = methods.filter((m) => typeof m?.method === 'string' && !m.method.startsWith('devtools.') && num(m.calls) !== undefined).sort((a, b) => (b.calls as number) - (a.calls as number))
  if (!named.length) return undefined
  return `${named.slice(0, 5).map((m) => `${String(m.method)} ${String(m.calls)}`).join(', ')}${named.length > 5 ? `, … (${named.length} methods)` : ''}`
}

function clockLine(clock: Partial<DevtoolsClock>): string | undefined {
  const offset = clock.offsetUs as { min?: unknown; median?: unknown; max?: unknown } | null | undefined
  const rtt = clock.rttUs as { median?: unknown } | null | undefined
  const median = num(offset?.median)
  if (median === undefined) return undefined
  const rttMedian = num(rtt?.median)
  return `client offsets median ${rounded(median)} µs (${rounded(num(offset?.min) ?? median)} … ${rounded(num(offset?.max) ?? median)})${rttMedian !== undefined ? `, rtt median ${rounded(rttMedian)} µs` : ''}`
}

/** A short human summary of a snapshot. */
export function formatStatus(snapshot: DevtoolsSnapshot): string {
  const s = snapshot.server
  const lines = [
    `${s.name ? `${s.name} at ` : ''}${s.url} — ${s.draining ? 'draining' : 'serving'}, pid ${s.pid}, up ${duration(s.uptimeMs)}, version ${s.version}, kernel ${s.kernelVersion}`,
    `plugins: ${s.plugins.map((p) => `${p.name}@${p.version}`).join(', ') || '(none)'}`,
    `sessions ${total(snapshot.sessions, snapshot.sessionsTotal)}, rooms ${total(snapshot.rooms, snapshot.roomsTotal)}, streams ${total(snapshot.streams, snapshot.streamsTotal)}`,
  ]
  const rates = snapshot.rates && typeof snapshot.rates === 'object' ? snapshot.rates : {}
  const ratesText = ratesLine(rates)
  if (ratesText) lines.push(`rates: ${ratesText}`)
  const methods = methodsLine(rates)
  if (methods) lines.push(`methods: ${methods}`)
  const clock = clockLine(snapshot.clock && typeof snapshot.clock === 'object' ? snapshot.clock : {})
  if (clock) lines.push(`clock: ${clock}`)
  // The devtools plugin lists errors newest first.
  const last = Array.isArray(snapshot.errors) ? (snapshot.errors[0] as { code?: unknown; message?: unknown } | undefined) : undefined
  lines.push(last && typeof last === 'object' ? `recent errors ${snapshot.errors.length}, last: ${String(last.code ?? '?')}${last.message ? ` ${String(last.message)}` : ''}` : 'recent errors 0')
  return lines.join('\n')
}
