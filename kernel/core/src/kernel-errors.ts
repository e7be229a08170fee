/**
 * Every error the kernel itself makes, from one table (the shape of `rpcErrors`). Messages say
 * what happened and what to do.
 */
import { defineErrors, messageOf, ErrorCodes as C } from './errors.js'
import { describe } from './describe.js'

export function clip(text: string): string {
  return text.length <= 100 ? text : `${text.slice(0, 100)}…`
}

export const kernelErrors = defineErrors({
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
  notWelcome: { code: C.E_PROTOCOL, message: (kind: string, url: string) => `Expected 'welcome' from the server, got '${clip(kind)}': is ${url} an echostream server?` },
  noWelcome: {
    code: C.E_TIMEOUT,
    message: (url: string, ms: number, reconnecting: boolean) => `No answer to the ${reconnecting ? 'reconnect ' : ''}handshake from ${url} within ${ms} ms.`,
    retryable: true,
  },
  closedDuringHandshake: {
    code: C.E_CLOSED,
    message: (code: number, reason: string, reconnecting: boolean) => `The server closed the connection during the ${reconnecting ? 'reconnect ' : ''}handshake (${code}${reason ? `: ${reason}` : ''}).`,
    retryable: true,
  },
  runtimePluginsInBrowser: {
    code: C.E_CONFIG,
    message: (method: string) => `kernel.${method}() is not in @echostream/kernel's browser build: a page's plugins are fixed when its kernel is made, so list them in createClient (or run this on Node).`,
  },
  fanoutInBrowser: {
    code: C.E_CONFIG,
    message: () => "kernel.fanout()/sendMany() are not in @echostream/kernel's browser build: a page has one session, send to it with session.send().",
  },
  serverInBrowser: {
    code: C.E_CONFIG,
    message: () => "A server kernel cannot run from @echostream/kernel's browser build (a page is a client): run servers on Node, where bundlers pick the default build.",
  },
  noUrl: { code: C.E_CONFIG, message: () => 'The client has no server URL: set `url` in its config (or load a discovery plugin).' },
  cannotConnect: {
    code: C.E_CLOSED,
    message: (url: string, error: unknown) => `Cannot connect to ${url}: ${messageOf(error)}. Is the server running?`,
    retryable: true,
  },
  notSuspended: { code: C.E_STATE, message: (role: string, state: string) => `Cannot reattach: the ${role}'s session is ${state}, not suspended.` },
  unknownKind: {
    code: C.E_PROTOCOL,
    message: (kind: string, role: string, loaded: string) => `Unknown frame kind '${kind}': the ${role} has no plugin that handles it (loaded: ${loaded}).`,
  },
  noHandlerKind: {
    code: C.E_CONFIG,
    message: (source: string, kind: string, name: string) =>
      `${source} defines a ${kind} handler '${name}', but no loaded plugin handles '${kind}' handlers: add the plugin that does (@echostream/plugin-${kind === 'event' ? 'events' : kind}) to your config.`,
  },
  cannotStart: { code: C.E_STATE, message: (state: string) => `Cannot start a kernel that is ${state}: create a new one.` },
  missingWire: {
    code: C.E_PLUGIN,
    message: (what: 'codec' | 'transport') =>
      `Cannot start: no ${what} is loaded. Add ${what === 'codec' ? '@echostream/plugin-codec-msgpack' : '@echostream/plugin-transport-ws'} or a preset such as @echostream/preset-default.`,
  },
  noResolver: {
    code: C.E_CONFIG,
    message: (spec: string) => `Cannot load '${clip(spec)}' by name here: pass the plugin object (import it), or create the kernel with @echostream/node, which resolves specifiers.`,
  },
  notAListener: { code: C.E_INVALID_ARGUMENT, message: (event: string, value: unknown) => `on('${clip(String(event))}', listener): the listener must be a function, got ${describe(value)}.` },
  unknownEvent: {
    code: C.E_INVALID_ARGUMENT,
    message: (event: string) => `on('${clip(event)}'): no such event; use 'start', 'listening', 'stop', 'connect', 'disconnect' or 'error'.`,
  },
})
