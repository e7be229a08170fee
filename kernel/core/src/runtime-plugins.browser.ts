/**
 * What a browser bundle gets for runtime-plugins.ts (the package's `browser` field maps it here):
 * a page's plugins are fixed when its kernel is made, so loading and unloading while it runs (and
 * the record removal behind them) stay out of the bundle; `kernel.load`/`unload` refuse.
 */
import { kernelErrors } from './kernel-errors.js'
import type { PluginHost } from './host.js'

export async function loadPlugin(_host: PluginHost, _definition?: unknown, _options?: unknown): Promise<void> {
  throw kernelErrors.runtimePluginsInBrowser('load')
}

export async function unloadPlugin(_host: PluginHost, _name?: string): Promise<void> {
  throw kernelErrors.runtimePluginsInBrowser('unload')
}
