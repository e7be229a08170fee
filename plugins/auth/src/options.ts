/** The auth plugin's options: this schema is the README's option table. */
import type { Action, EchoError, OptionsOf, Session } from '@echostream/kernel'

/**
 * Server: decides who the peer is from the credentials it sent in `hello`. Return the identity
 * (any value but `false`, `null` or `undefined`) to admit it, or `false` to refuse. Throwing an
 * EchoError `E_UNAUTHORIZED` refuses with that message; any other throw refuses with a generic one.
 */
export type Authenticate = (credentials: unknown, session: Session) => unknown

/**
 * Server: decides one action of an authenticated session, synchronously, from what `authenticate`
 * stored. `false` refuses with `E_UNAUTHORIZED`; an EchoError refuses with that error; `true` or
 * nothing lets the next check decide (every check must let it through).
 */
export type Authorize = (action: Action, session: Session) => boolean | EchoError | void | undefined

/** Credentials as the client sends them: a value, or a sync function read at each handshake. */
export type Credentials = unknown

/**
 * The auth plugin's options, derived from the schema below; the function-valued ones (which JSON
 * Schema cannot type) get their signatures here.
 */
export type AuthOptions = Omit<OptionsOf<typeof schema>, 'credentials' | 'authenticate' | 'authorize'> & {
  credentials?: Credentials
  authenticate?: Authenticate
  authorize?: Authorize
}
/** `rules`: role name → patterns of allowed actions, and the identity field naming the role. */
export type RulesOptions = NonNullable<AuthOptions['rules']>
/** `throttle`: slowing down and banning addresses that keep failing. */
export type ThrottleOptions = AuthOptions['throttle']

/** A function-valued option: no type constraint (ajv has no "function" type); `setup` checks `typeof`. */
const fn = (description: string) => ({ description })

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    credentials: {
      description: 'Client: credentials sent in the handshake (hello.auth), any JSON value, e.g. "${TOKEN}". Or call client.auth.setCredentials(value) before start().',
    },
    required: {
      type: 'boolean',
      default: true,
      description: 'Server: refuse a peer that sends no credentials. false admits it with no identity (authorize still runs for its actions).',
    },
    authenticate: fn('Server: (credentials, session) => identity | false | Promise<…>. Or give `module`, or call server.auth.authenticate(fn).'),
    authorize: fn('Server: (action, session) => boolean | EchoError | void, sync. Or export it from `module`, or call server.auth.authorize(fn).'),
    module: {
      type: 'string',
      minLength: 1,
      description: 'Server: a module (path from the config\'s folder, or a package) exporting `authenticate` and optionally `authorize`.',
    },
    tokens: {
      type: 'array',
      maxItems: 10000,
      description: 'Server: static credentials, [{ token, identity }]: a peer whose credentials are one of the tokens gets its identity (compared in constant time, before any authenticate function). Works from JSON/YAML configs: "token": "${ADMIN_TOKEN}".',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['token', 'identity'],
        properties: {
          token: { type: 'string', minLength: 8, maxLength: 4096, description: 'The secret the client sends as its credentials (8 to 4096 characters).' },
          identity: { description: 'What the peer is, e.g. { "id": "ops", "role": "admin" }: any value but null or false.' },
        },
      },
    },
    rules: {
      type: 'object',
      additionalProperties: false,
      required: ['roles'],
      description: 'Server: declarative authorisation, e.g. { roles: { admin: ["*"], user: ["rpc:math.*", "room:lobby"] } }.',
      properties: {
        roles: {
          type: 'object',
          description: 'Role name → allowed action patterns "kind:name", where * matches any run of characters; "*" alone allows everything.',
          additionalProperties: {
            type: 'array',
            items: { type: 'string', pattern: '^(\\*|[^:]+:.+)$' },
          },
        },
        roleOf: {
          type: 'string',
          minLength: 1,
          default: 'role',
          description: 'The identity field that names the role (a string or an array of role names).',
        },
      },
    },
    authenticateTimeoutMs: {
      type: 'integer',
      minimum: 1,
      default: 10000,
      description: 'Server: refuse (not counted as a failure) when authenticate has not settled after this long.',
    },
    throttle: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Server: per peer IP, delay each failed authentication and ban an address that keeps failing.',
      properties: {
        enabled: { type: 'boolean', default: true, description: 'false turns throttling off (e.g. behind a proxy that rate-limits itself).' },
        baseDelayMs: { type: 'integer', minimum: 0, default: 100, description: 'The nth failure in a row is refused after baseDelayMs · 2^(n−1).' },
        maxDelayMs: { type: 'integer', minimum: 0, default: 3000, description: 'Cap of that delay. Keep it below the client\'s handshakeTimeoutMs (10 s by default).' },
        maxFailures: { type: 'integer', minimum: 1, default: 10, description: 'This many failures in a row ban the address.' },
        windowMs: { type: 'integer', minimum: 1, default: 300000, description: 'An address with no failure for this long is forgotten (its count starts again).' },
        banMs: { type: 'integer', minimum: 0, default: 300000, description: 'How long a banned address is refused at once, without calling authenticate.' },
        maxTracked: { type: 'integer', minimum: 1, default: 10000, description: 'Most addresses remembered; the least recently failing one is forgotten first.' },
      },
    },
  },
} as const
