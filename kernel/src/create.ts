/**
 * `createServer` / `createClient`: assemble a kernel from a config object, a config file, or the
 * config cosmiconfig finds in the current directory.
 */
import { dirname } from 'node:path'
import { assemble, loadConfigFile, type Assembly, type EchoConfig } from './config.js'
import { createKernel, type EchoKernel, type Logger } from './kernel.js'
import type { Role } from './plugin.js'

export type EchoServer = EchoKernel
export type EchoClient = EchoKernel

export interface CreateOptions {
  /** Where to search for a config file when none is given (default: the current directory). */
  cwd?: string
  logger?: Logger
}

/** Reads and assembles a config without setting anything up (what `echostream inspect` prints). */
export async function resolveConfig(input: EchoConfig | string | undefined, role: Role, options: CreateOptions = {}): Promise<Assembly & { configFile?: string }> {
  const cwd = options.cwd ?? process.cwd()
  if (typeof input === 'object') return assemble(input, role, cwd)
  const { config, filepath } = await loadConfigFile(input, cwd)
  return { ...(await assemble(config, role, dirname(filepath), filepath)), configFile: filepath }
}

async function build(input: EchoConfig | string | undefined, role: Role, options: CreateOptions): Promise<EchoKernel> {
  const assembly = await resolveConfig(input, role, options)
  const kernel = await createKernel({
    role,
    url: assembly.url,
    baseDir: assembly.baseDir,
    handshakeTimeoutMs: assembly.handshakeTimeoutMs,
    outboundBudget: assembly.outboundBudget,
    logger: options.logger,
    plugins: assembly.plugins.map((p) => [p.definition, p.options] as const),
  })
  try {
    for (const { source, definitions } of assembly.handlers) kernel.registerHandlers(definitions, source)
  } catch (error) {
    await kernel.stop().catch(() => {})
    throw error
  }
  return kernel
}

/** A server kernel from a config object, a config file path, or the config found in `cwd`. Call `start()` to listen. */
export function createServer(config?: EchoConfig | string, options: CreateOptions = {}): Promise<EchoServer> {
  return build(config, 'server', options)
}

/** A client kernel from a config object, a config file path, or the config found in `cwd`. Call `start()` to connect. */
export function createClient(config?: EchoConfig | string, options: CreateOptions = {}): Promise<EchoClient> {
  return build(config, 'client', options)
}
