/**
 * Every error the devtools plugin makes, from one table (STYLE rule 7, the shape of `rpcErrors`).
 * Codes are the kernel's; messages say what to do next.
 */
import { defineErrors, ErrorCodes } from '@echostream/kernel'

export const DevtoolsErrorCodes = {
  /** A wrong devtools token in the hello, or a devtools method called by a session without one. */
  E_UNAUTHORIZED: ErrorCodes.E_UNAUTHORIZED,
  /** The page listener cannot bind; a client without a token. */
  E_CONFIG: ErrorCodes.E_CONFIG,
} as const

const C = DevtoolsErrorCodes

export const devtoolsErrors = defineErrors({
  wrongToken: {
    code: C.E_UNAUTHORIZED,
    message: () => 'The devtools token is wrong: use the token the server was configured with (options.devtools.token), or the one it logged at start.',
  },
  notDevtools: {
    code: C.E_UNAUTHORIZED,
    message: (method: string) => `'${method}' is for devtools sessions only: connect with the devtools token in hello.devtoolsToken (the devtools plugin with { token } does it).`,
  },
  listen: {
    code: C.E_CONFIG,
    message: (host: string, port: number, why: string) =>
      `The devtools page cannot listen on ${host}:${port} (${why}): choose another options.devtools.port (0 picks a free one), or set http: false.`,
  },
  updatesNeedEvents: {
    code: C.E_CONFIG,
    message: () => 'devtools.onUpdate needs the events plugin on this client (updates arrive as devtools.update events): load @echostream/plugin-events, or poll devtools.snapshot().',
  },
  clientWithoutToken: {
    code: C.E_CONFIG,
    message: () => 'A devtools client needs options.devtools.token: the token the server was configured with, or the one it logged at start.',
  },
})
