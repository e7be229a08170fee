/**
 * What a page bundles instead of server.ts (package.json `browser` field): a page is a client, and
 * the server side (resume tokens, grace periods, node:crypto) never runs there.
 */
import type { PluginKernel } from '@echostream/kernel'
import { reconnectErrors } from './errors.js'
import type { setupServer as Real } from './server.js'

export type { AdoptedState } from './server.js'

export const setupServer = ((_kernel: PluginKernel) => {
  throw reconnectErrors.serverInBrowser()
}) as unknown as typeof Real
