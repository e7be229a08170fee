/**
 * `${VAR}`, `${VAR:-default}` and `${VAR:?message}` in config string values, as a shell expands
 * them. A value that is exactly one `${…}` and expands to a number or boolean becomes one, so
 * `port: '${PORT:-5000}'` passes an integer schema.
 */
import { EchoError, ErrorCodes } from '@echostream/kernel'

const PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}/g

function expand(text: string, path: string, missing: string[], env: NodeJS.ProcessEnv): string {
  return text.replace(PATTERN, (_, name: string, op: string | undefined, arg: string | undefined) => {
    const value = env[name]
    if (value !== undefined && value !== '') return value
    if (op === ':-') return arg ?? ''
    missing.push(`${path}: environment variable ${name} is not set${op === ':?' && arg ? ` (${arg})` : ''}; set it or write \${${name}:-default}`)
    return ''
  })
}

function convert(original: string, expanded: string): unknown {
  if (!/^\$\{[^}]*\}$/.test(original)) return expanded
  if (/^-?\d+(\.\d+)?$/.test(expanded)) return Number(expanded)
  if (expanded === 'true' || expanded === 'false') return expanded === 'true'
  return expanded
}

function walk(value: unknown, path: string, missing: string[], env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') return value.includes('${') ? convert(value, expand(value, path, missing, env)) : value
  if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`, missing, env))
  // Only plain data is expanded: plugin definitions, handler definitions and buffers pass as they are.
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype && !Object.isFrozen(value)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, path ? `${path}.${k}` : k, missing, env)
    return out
  }
  return value
}

/** Returns a copy of `config` with variables expanded; throws `E_CONFIG` naming every unset required variable. */
export function substituteEnv<T>(config: T, label = 'config', env: NodeJS.ProcessEnv = process.env): T {
  const missing: string[] = []
  const out = walk(config, '', missing, env) as T
  if (missing.length) {
    throw new EchoError(ErrorCodes.E_CONFIG, `${label}: ${missing.join('; ')}`, { data: { problems: missing } })
  }
  return out
}
