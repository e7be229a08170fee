/**
 * Every error the kernel itself makes, from one table (the shape of `rpcErrors`). Messages say
 * what happened and what to do.
 */
import { defineErrors, ErrorCodes as C } from './errors.js'

export const kernelErrors = defineErrors({
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
  malformedWelcome: {
    code: C.E_PROTOCOL,
    message: (problem: string) => `Malformed 'welcome' from the server: ${problem} (PROTOCOL.md).`,
  },
  payloadTooLarge: {
    code: C.E_PAYLOAD_TOO_LARGE,
    message: (kind: string, size: number, max: number) =>
      `A '${kind}' frame of ${size} bytes exceeds the peer's maxPayload of ${max} bytes; nothing was sent. Send less per message (split it, or use a stream), or raise maxPayload on the receiving side.`,
    data: (kind: string, size: number, max: number) => ({ kind, size, maxPayload: max }),
  },
  sessionClosed: {
    code: C.E_CLOSED,
    message: (id: string) => `Session ${id || '(handshaking)'} is closed; wait for a new connection before sending.`,
  },
  slowConsumer: {
    code: C.E_CLOSED,
    message: (pending: number, budget: number) =>
      `slow consumer: ${pending} bytes waiting to be sent, over the outbound budget of ${budget}`,
    retryable: true,
  },
  noCodec: {
    code: C.E_STATE,
    message: () => 'No codec is loaded: add @echostream/plugin-codec-msgpack (or a preset) to the config.',
  },
  unencodable: {
    code: C.E_CODEC,
    message: (kind: string, why: string) => `Cannot encode a '${kind}' frame: ${why}. Send plain data (objects, arrays, strings, numbers, binary).`,
  },
})
