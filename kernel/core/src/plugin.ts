/**
 * A plugin is one plain object (STYLE rule 1). The kernel checks its metadata when loading it, as
 * Fastify's plugin-utils do: kernel range, capabilities, option schema.
 */
import type { PluginKernel } from './kernel.js'
import type { PluginScope } from './host.js'
import type { FromSchema, JSONSchema } from 'json-schema-to-ts'

export type Role = 'server' | 'client'
export type Dispose = () => void | Promise<void>

/** A JSON schema object, as ajv takes it. */
export type JsonSchema = Record<string, unknown>

/**
 * A plugin's options type derived from its JSON schema (declared `as const`), so that the README's
 * option table, the schema and the type are one thing. Properties with a `default` are present
 * after validation and typed so; the others are optional.
 */
export type OptionsOf<S extends JSONSchema> = FromSchema<S>

export interface PluginDefinition<Options = any, Api = unknown> {
  /** Short, unique name; also the key of this plugin's options in a config's `options`. */
  name: string
  /** The plugin's own semver version. */
  version: string
  /** Semver range of `@echostream/kernel` versions this plugin works with, e.g. `'^1'`. */
  kernel: string
  /** Capabilities this plugin offers (`transport`, `codec`, `rpc`…). */
  provides?: readonly string[]
  /** Capabilities that must be loaded before this plugin. */
  requires?: readonly string[]
  /** Capabilities used when present; ordering honours them but their absence is no error. */
  optional?: readonly string[]
  /** Roles the plugin works in (default both). */
  roles?: readonly Role[]
  /** Set when the plugin adds frame kinds: its wire version, compared in the handshake. */
  wire?: number
  /** JSON schema of the options; `additionalProperties: false` and defaults belong here. */
  schema?: JsonSchema
  /**
   * Taps hooks, routes frames, exposes its API; returns a dispose function when it holds resources.
   * What it registers while `setup` runs is its own (unloading removes exactly that); `scope`
   * registers as this plugin at any later time too.
   */
  setup(kernel: PluginKernel, options: Readonly<Options>, scope: PluginScope): void | Dispose | Promise<void | Dispose>
  /**
   * Type only, never set: the API this plugin adds to a server or client (`{ rpc: RpcApi }`),
   * declared with `definePlugin<Options, Api>`, so that the types follow the plugins a config loads
   * (config-types.ts). `unknown` (undeclared) makes such a config fall back to every plugin's API.
   */
  readonly '~api'?: Api
}

export function definePlugin<Options = Record<string, never>, Api = unknown>(plugin: PluginDefinition<Options, Api>): PluginDefinition<Options, Api> {
  return Object.freeze(plugin)
}

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  const p = value as PluginDefinition
  return typeof p === 'object' && p !== null && typeof p.name === 'string' && typeof p.setup === 'function'
}

/** Capabilities only one loaded plugin may provide. */
export const SINGLE_PROVIDER_CAPABILITIES: ReadonlySet<string> = new Set(['transport', 'codec'])
