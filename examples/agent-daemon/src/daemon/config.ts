/**
 * The daemon's own config file (JSON, written by the operator; the daemon never rewrites it — the
 * agents live in their own file, which the admin channel edits). `${VAR}` / `${VAR:-default}` work
 * in any string; relative paths are relative to the config file's folder.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { EchoError, ErrorCodes, substituteEnv, validateOptions, type JsonSchema } from '@echostream/node'

export interface DaemonConfig {
  runtime: { host: string; port: number; users: Array<{ name: string; token: string }> }
  admin: { host: string; port: number; token: string }
  agentsFile: string
  stateFile: string
  logFile: string
  logs: { level: string; recent: number }
  drainTimeoutMs: number
  connectors: Array<{ name: string; platform: string; botToken: string }>
  /** The config file's absolute path. */
  configFile: string
}

const listener = (port: number) => ({
  host: { type: 'string', default: '127.0.0.1', description: 'address to listen on (keep admin on loopback)' },
  port: { type: 'integer', minimum: 0, maximum: 65535, default: port, description: '0 picks a free port' },
})

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    runtime: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ...listener(7401),
        users: {
          type: 'array',
          default: [],
          maxItems: 1000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'token'],
            properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, token: { type: 'string', minLength: 8 } },
          },
        },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      required: ['token'],
      properties: { ...listener(7402), token: { type: 'string', minLength: 8 } },
    },
    agentsFile: { type: 'string', minLength: 1, default: 'agents.json' },
    stateFile: { type: 'string', minLength: 1, default: 'agentd.state.json' },
    logFile: { type: 'string', minLength: 1, default: 'agentd.log' },
    logs: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { type: 'string', enum: ['trace', 'debug', 'info', 'warn', 'error'], default: 'info' },
        recent: { type: 'integer', minimum: 10, maximum: 100000, default: 1000 },
      },
    },
    drainTimeoutMs: { type: 'integer', minimum: 0, maximum: 600000, default: 10000 },
    connectors: {
      type: 'array',
      default: [],
      maxItems: 16,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'platform', 'botToken'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 64 },
          platform: { type: 'string', pattern: '^tcp://[^:/]+:\\d{1,5}/?$' },
          botToken: { type: 'string', minLength: 1 },
        },
      },
    },
  },
  required: ['admin'],
} as const satisfies JsonSchema

export const DEFAULT_CONFIG_FILE = 'agentd.config.json'

export function loadConfig(file: string): DaemonConfig {
  const configFile = resolve(file)
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(configFile, 'utf8'))
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist (give --config FILE, or run from its folder)' : (error as Error).message
    throw new EchoError(ErrorCodes.E_CONFIG, `Cannot read the agentd config ${configFile}: ${reason}.`)
  }
  const expanded = substituteEnv(raw, configFile)
  let config: DaemonConfig
  try {
    config = structuredClone(validateOptions<Omit<DaemonConfig, 'configFile'>>(configSchema, expanded, `agentd config ${configFile}`, 'config')) as DaemonConfig
  } catch (error) {
    const problems = (EchoError.from(error).data as { problems?: string[] } | undefined)?.problems
    if (!problems) throw error
    throw new EchoError(ErrorCodes.E_CONFIG, `The agentd config ${configFile} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}: ${problems.join('; ')}. Its options are in the example's README ("Daemon config").`, { data: { problems } })
  }
  const dir = dirname(configFile)
  config.agentsFile = resolve(dir, config.agentsFile)
  config.stateFile = resolve(dir, config.stateFile)
  config.logFile = resolve(dir, config.logFile)
  config.configFile = configFile
  return config
}
