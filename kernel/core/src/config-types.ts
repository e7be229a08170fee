/**
 * Types that follow the plugins a config actually loads: `createServer({ preset, plugins })`
 * returns a server whose type has `server.rpc` only when the rpc plugin is in the config, and no
 * `server.streams` on a preset without streams.
 *
 * A plugin says what it adds with the second type argument of `definePlugin<Options, Api>` (a
 * type-only `~api` property, never set at run time); a plugin or preset named by string says it
 * by augmenting `PluginApis` / `PresetApis` (keyed by package name). When any plugin of a config
 * is not known this way — an undeclared plugin, an unknown package name, a config file path — the
 * type falls back to every plugin's API (`KernelApi`), as before: narrowing is never a guess.
 */
import type { EchoConfig } from './config.js'
import type { KernelApi } from './kernel.js'

/** Package name → the API that plugin adds (for plugins named by string in a config). Augment it in a plugin package. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PluginApis {}

/** Preset package name → the API of all its plugins (for presets named by string). Augment it in a preset package. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PresetApis {}

/** Marks "not known": one such entry makes the whole config fall back to `KernelApi`. */
declare const UNKNOWN: unique symbol
interface UnknownApi {
  readonly [UNKNOWN]: true
}

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never

/** The API one plugin definition declares (`definePlugin<Options, Api>`), or UnknownApi. */
type DefinitionApi<P> = P extends { readonly '~api'?: infer A } ? (unknown extends A ? UnknownApi : A) : UnknownApi

/** The API of one `plugins` entry: a definition, `[definition, options]`, or a package name. */
type EntryApi<E> = E extends readonly [infer P, ...unknown[]]
  ? EntryApi<P>
  : E extends string
    ? string extends E
      ? UnknownApi
      : E extends keyof PluginApis
        ? PluginApis[E]
        : UnknownApi
    : DefinitionApi<E>

/** Presets extend presets; a few levels are plenty (and keep a recursive `EchoConfig` from recursing forever). */
type Deeper<D extends unknown[]> = [...D, unknown]

type PresetApi<P, D extends unknown[]> = unknown extends P
  ? // no `preset` in the config
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    {}
  : PresetOf<P, D>

type PresetOf<P, D extends unknown[]> = P extends undefined
  ? // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    {}
  : P extends string
    ? string extends P
      ? UnknownApi
      : P extends keyof PresetApis
        ? PresetApis[P]
        : UnknownApi
    : P extends EchoConfig
      ? D['length'] extends 4
        ? UnknownApi
        : ConfigApis<P, Deeper<D>>
      : UnknownApi

type PluginsApi<L> = unknown extends L ? never : L extends ReadonlyArray<infer E> ? EntryApi<E> : L extends undefined ? never : UnknownApi

/** Every API a config's plugins and preset add, as a union (UnknownApi when one is not known). */
type ConfigApis<C, D extends unknown[] = []> = C extends { preset?: infer P; plugins?: infer L }
  ? unknown extends P
    ? unknown extends L
      ? UnknownApi // neither a preset nor plugins: they come from elsewhere (kernel.load), so all
      : PresetApi<P, D> | PluginsApi<L>
    : PresetApi<P, D> | PluginsApi<L>
  : UnknownApi

/**
 * The plugin APIs a config loads: exact when its preset and every plugin are known, else every
 * plugin's (`KernelApi`). `options: { name: false }` (removing a preset's plugin) is not seen.
 */
export type ApisOf<C> = [Extract<ConfigApis<C>, UnknownApi>] extends [never] ? UnionToIntersection<ConfigApis<C>> & {} : KernelApi
