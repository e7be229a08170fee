/**
 * `createServer` / `createClient` on Node: a config object, a config file path, or the config
 * cosmiconfig finds in the current directory; presets, plugins and handler modules named by
 * string resolve from the config's folder; options are validated with ajv; `${VAR}` expands.
 */
import { dirname } from 'node:path'
import { assemble, fromAssembly, type ApisOf, type Assembly, type EchoClient, type EchoClientOf, type EchoConfig, type EchoServer, type EchoServerOf, type Logger, type Role } from '@echostream/kernel'
import { loadConfigFile, loadPlugin, nodeResolver } from './config-file.js'
import { substituteEnv } from './env.js'
import { ajvValidator } from './validate.js'
import { importFile, resolveSpecifier } from './resolve.js'

/** `kernel.importModule(spec)` on Node: resolved from the config's folder, TypeScript included. */
export const importModule = (spec: string, baseDir: string) => importFile(resolveSpecifier(spec, baseDir, 'module'))

export interface NodeCreateOptions {
  /** Where to search for a config file when none is given (default: the current directory). */
  cwd?: string
  logger?: Logger
  /**
   * Options laid over the config's, by plugin name, for plugins the config loads (others are
   * ignored): how the CLI's `--log-level`/`--log-format` reach the observability plugin.
   */
  pluginOptions?: Record<string, Record<string, unknown>>
}

/** `assembly` with `overrides` merged (shallowly) into the options of the plugins it loads. */
export function withPluginOptions<A extends Assembly>(assembly: A, overrides: Record<string, Record<string, unknown>> | undefined): A {
  if (!overrides) return assembly
  const plugins = assembly.plugins.map((p) => {
    const extra = overrides[p.definition.name]
    return extra ? { ...p, options: { ...(p.options ?? {}), ...extra } } : p
  })
  return { ...assembly, plugins }
}

/** Reads and assembles a config without setting anything up (what `echostream inspect` prints). */
export async function resolveConfig(input: EchoConfig | string | undefined, role: Role, options: NodeCreateOptions = {}): Promise<Assembly & { configFile?: string }> {
  const cwd = options.cwd ?? process.cwd()
  const settings = { resolver: nodeResolver, validator: ajvValidator }
  if (typeof input === 'object') return assemble(substituteEnv(input, 'config'), role, cwd, 'config', settings)
  const { config, filepath } = await loadConfigFile(input, cwd)
  return { ...(await assemble(substituteEnv(config, filepath), role, dirname(filepath), filepath, settings)), configFile: filepath }
}

async function build(input: EchoConfig | string | undefined, role: Role, options: NodeCreateOptions) {
  const assembly = withPluginOptions(await resolveConfig(input, role, options), options.pluginOptions)
  return fromAssembly(assembly, { logger: options.logger, validator: ajvValidator, resolvePlugin: loadPlugin, importModule })
}

/**
 * A server from a config object, a config file path, or the config found in `cwd`. Call `start()`
 * to listen. From a config object its type has the APIs of the config's plugins (`ApisOf`); from a
 * file, every plugin's.
 */
export async function createServer<const C extends EchoConfig | string | undefined = undefined>(config?: C, options: NodeCreateOptions = {}): Promise<C extends EchoConfig ? EchoServerOf<ApisOf<C>> : EchoServer> {
  return (await build(config, 'server', options)) as never
}

/** A client from a config object, a config file path, or the config found in `cwd`. Call `start()` to connect. Typed as `createServer`. */
export async function createClient<const C extends EchoConfig | string | undefined = undefined>(config?: C, options: NodeCreateOptions = {}): Promise<C extends EchoConfig ? EchoClientOf<ApisOf<C>> : EchoClient> {
  return (await build(config, 'client', options)) as never
}
