/**
 * Every error the `echostream` command makes, from one table (the shape of plugins/rpc/src/errors.ts).
 * `E_USAGE` is a mistake on the command line: the command prints it and exits 2; every other code
 * exits 1. Messages say what to do next.
 */
import { defineErrors, ErrorCodes } from '@echostream/kernel'

export const CliErrorCodes = {
  /** A mistake on the command line (unknown command or flag, a bad number or choice, a missing argument). */
  E_USAGE: 'E_USAGE',
  /** The server answered, but has no devtools plugin to report its state with. */
  E_NO_DEVTOOLS: 'E_NO_DEVTOOLS',
  E_PLUGIN: ErrorCodes.E_PLUGIN,
  E_CONFIG: ErrorCodes.E_CONFIG,
  E_UNAUTHORIZED: ErrorCodes.E_UNAUTHORIZED,
  /** The server answered a devtools request with something that is not what the devtools plugin sends. */
  E_PROTOCOL: ErrorCodes.E_PROTOCOL,
} as const

const C = CliErrorCodes

export const cliErrors = defineErrors({
  usage: { code: C.E_USAGE, message: (text: string) => text },
  badJson: { code: C.E_USAGE, message: (what: string, raw: string, reason: string) => `${what} must be JSON (${reason}), got ${raw}: quote it for the shell, e.g. '{"a":1}'.` },
  noUrl: {
    code: C.E_USAGE,
    message: (command: string, cwd: string) => `${command}: no --url, and no echostream config in ${cwd} to read the server's address from: pass --url ws://HOST:PORT, or run it in your app's folder (or give --config FILE).`,
  },
  portZero: {
    code: C.E_USAGE,
    message: (command: string, file: string, plugin: string) => `${command}: ${file} has ${plugin} on port 0 (a free port picked at start), so the address is not in the config: pass --url (echostream start prints it: "listening on ws://…").`,
  },
  noTransport: { code: C.E_CONFIG, message: (file: string) => `${file} loads no transport plugin with a port (transport-ws or transport-tcp): pass --url.` },
  noClientPlugins: {
    code: C.E_PLUGIN,
    message: (cwd: string, reason: string) => `No client to connect with: no usable echostream config in ${cwd}, and @echostream/preset-default cannot be loaded from it (${reason}). Run the command in your app's folder, or install @echostream/preset-default there.`,
  },
  noRpc: { code: C.E_PLUGIN, message: (file: string) => `${file} loads no rpc plugin, so there is nothing to call with: add @echostream/plugin-rpc to it.` },
  noDevtools: {
    code: C.E_NO_DEVTOOLS,
    message: (url: string) => `The server at ${url} has no devtools plugin, so it cannot report its state: add '@echostream/plugin-devtools' to its config (plugins: [['@echostream/plugin-devtools', { token: '\${DEVTOOLS_TOKEN}' }]]) and restart it.`,
  },
  notASnapshot: {
    code: C.E_PROTOCOL,
    message: (url: string, method: string) => `The server at ${url} answered ${method} with something that is not a snapshot: update @echostream/plugin-devtools on the server.`,
  },
  devtoolsRefused: {
    code: C.E_UNAUTHORIZED,
    message: (url: string, reason: string, hadToken: boolean) =>
      `The server at ${url} refused the devtools token (${reason}): ${hadToken ? 'check the token' : 'pass --token TOKEN or set ECHOSTREAM_DEVTOOLS_TOKEN'} (the devtools plugin's token option on the server).`,
  },
})
