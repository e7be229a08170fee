/**
 * What a page's bundle gets for server.ts (the package's `browser` field maps it here): a page is
 * a client, which probes; the reference side never runs there.
 */
import type { PluginKernel } from '@echostream/kernel'
import { clockErrors } from './errors.js'
import type { LocalClock } from './local-clock.js'

export function setupServer(_kernel: PluginKernel, _local?: LocalClock): () => void {
  throw clockErrors.serverInBrowser()
}
