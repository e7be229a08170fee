/**
 * The errors only the server's side of the handshake makes (kernel-errors.ts has the rest; the
 * public `kernelErrors` is both): apart, so a browser bundle, which never runs a server, carries
 * neither this table nor the server handshake.
 */
import { defineErrors, ErrorCodes as C } from '../errors.js'
import { clip } from '../kernel-errors.js'

export const serverHandshakeErrors = defineErrors({
  incompatibleProtocol: {
    code: C.E_INCOMPATIBLE,
    message: (peer: string, theirs: unknown, ours: number) =>
      `The ${peer} speaks echostream protocol ${String(theirs)}, this side speaks ${ours}: upgrade the older side so both speak protocol ${ours} (use client and server packages of the same major version).`,
    data: (_peer: string, theirs: unknown, ours: number) => ({ theirs: typeof theirs === 'number' ? theirs : null, ours }),
  },
  malformedHello: {
    code: C.E_PROTOCOL,
    message: (problem: string) => `Malformed 'hello': ${problem}. It needs { protocol: number, codec: string, plugins: object, limits: { maxPayload: number } } (PROTOCOL.md).`,
  },
  incompatible: { code: C.E_INCOMPATIBLE, message: (problem: string) => problem },
  noHello: { code: C.E_PROTOCOL, message: (ms: number) => `No 'hello' within ${ms} ms: send the handshake first (PROTOCOL.md).` },
  helloFirst: { code: C.E_PROTOCOL, message: (kind: string) => `The first frame must be 'hello', got '${clip(kind)}': start with the handshake (PROTOCOL.md).` },
  beforeWelcome: { code: C.E_PROTOCOL, message: (kind: string) => `Frame '${clip(kind)}' arrived before 'welcome': wait for the handshake to finish before sending.` },
})
