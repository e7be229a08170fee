/**
 * `kernelErrors` as the package exports it: the common table (kernel-errors.ts) and the server
 * handshake's (handshake/server-errors.ts). The kernel's own modules import the table they need,
 * so a client bundle carries no server message.
 */
import { kernelErrors as common } from './kernel-errors.js'
import { serverHandshakeErrors } from './handshake/server-errors.js'

export const kernelErrors: typeof common & typeof serverHandshakeErrors = /* @__PURE__ */ Object.freeze({ ...common, ...serverHandshakeErrors })
