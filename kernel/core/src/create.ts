/**
 * `createServer` / `createClient` from a config object: plugins and presets given as objects
 * (imported by the application). Config files, and presets, plugins or handler modules named by
 * string, need `@echostream/node`'s functions of the same names, which pass a resolver here.
 */
import { assemble, type Assembly, type ConfigResolver, type EchoConfig } from './config.js'
import { createKernel, type EchoKernel, type KernelOptions } from './kernel.js'
import type { Logger } from './logger.js'
import type { OptionsValidator } from './options.js'
import type { Role } from './plugin.js'
import type { EchoClientOf, EchoServerOf } from './app.js'
import type { ApisOf } from './config-types.js'

export interface CreateOptions {
  logger?: Logger
  /** Where the config's relative paths resolve from (default '.'). */
  baseDir?: string
  /** Turns string specifiers into modules (@echostream/node passes its own). */
  resolver?: ConfigResolver
  /** Validates plugin options (@echostream/node passes ajv). */
  validator?: OptionsValidator
  /** Resolves `load('spec')` at runtime. */
  resolvePlugin?: KernelOptions['resolvePlugin']
  /** Imports modules plugin options name (`kernel.importModule`). */
  importModule?: KernelOptions['importModule']
}

/** A kernel from an assembled config, with its handler modules registered. */
export async function fromAssembly(assembly: Assembly, options: CreateOptions = {}): Promise<EchoKernel> {
  const kernel = await createKernel({
    role: assembly.role,
    url: assembly.url,
    baseDir: assembly.baseDir,
    handshakeTimeoutMs: assembly.handshakeTimeoutMs,
    outboundBudget: assembly.outboundBudget,
    logger: options.logger,
    validator: options.validator,
    resolvePlugin: options.resolvePlugin,
    importModule: options.importModule,
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

async function build(config: EchoConfig, role: Role, options: CreateOptions): Promise<EchoKernel> {
  const assembly = await assemble(config, role, options.baseDir ?? '.', 'config', { resolver: options.resolver, validator: options.validator })
  return fromAssembly(assembly, options)
}

/** A server from a config object; call `start()` to listen. Its type has the APIs of the config's plugins (`ApisOf`). */
export async function createServer<const C extends EchoConfig = EchoConfig>(config: C = {} as C, options: CreateOptions = {}): Promise<EchoServerOf<ApisOf<C>>> {
  return (await build(config, 'server', options)) as unknown as EchoServerOf<ApisOf<C>>
}

/** A client from a config object; call `start()` to connect. Its type has the APIs of the config's plugins (`ApisOf`). */
export async function createClient<const C extends EchoConfig = EchoConfig>(config: C = {} as C, options: CreateOptions = {}): Promise<EchoClientOf<ApisOf<C>>> {
  return (await build(config, 'client', options)) as unknown as EchoClientOf<ApisOf<C>>
}

/** The plugin kernel behind a server or client facade: hooks, routes, sending — what plugins (and tests) use. */
export function kernelOf(app: EchoServerOf<object> | EchoClientOf<object>): EchoKernel {
  return app as unknown as EchoKernel
}
