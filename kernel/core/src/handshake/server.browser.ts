/**
 * What a browser bundle gets for server.ts (the package's `browser` field maps it here): a page is
 * a client, so the server's side of the handshake (and its error table) stays out of the bundle; a
 * server kernel made from the browser build says so instead of half-working.
 */
import { kernelErrors } from '../kernel-errors.js'
import type { ServerHandshake as Real } from './server.js'

export const ServerHandshake = class {
  constructor() {
    throw kernelErrors.serverInBrowser()
  }
} as unknown as typeof Real
export type ServerHandshake = Real
