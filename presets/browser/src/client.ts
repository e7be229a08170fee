/**
 * `createClient` for a page: a client kernel from plugin definitions, with no config file, no
 * module resolution and nothing from Node (the kernel's `createClient` reads config files).
 */
import { createKernel, type EchoKernel, type Logger, type PluginDefinition } from '@echostream/kernel'

export type PluginEntry = PluginDefinition | readonly [PluginDefinition, unknown]

export interface BrowserClientConfig {
  /** The server's URL, `ws://…` or `wss://…`. */
  url: string
  /** Options per plugin, by the plugin's name (`'transport-ws'`, `rpc`, `reconnect`…); `false` leaves that plugin out. */
  options?: Record<string, unknown>
  /** More plugins, after the preset's (a definition, or `[definition, options]`). */
  plugins?: readonly PluginEntry[]
  /** Milliseconds the server has to answer the handshake (default 10 000). */
  handshakeTimeoutMs?: number
  logger?: Logger
}

/** A client kernel over `preset` plus `config.plugins`; call `start()` to connect. */
export function createClientFrom(preset: readonly PluginDefinition[], config: BrowserClientConfig): Promise<EchoKernel> {
  const options = config.options ?? {}
  const plugins: PluginEntry[] = []
  for (const plugin of preset) {
    const own = options[plugin.name]
    if (own !== false) plugins.push([plugin, own])
  }
  plugins.push(...(config.plugins ?? []))
  return createKernel({ role: 'client', url: config.url, plugins, handshakeTimeoutMs: config.handshakeTimeoutMs, logger: config.logger, baseDir: '/' })
}
