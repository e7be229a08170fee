/** Type tests: `tokens` is typed from the schema (token a string, identity required, nothing else). Checked by the typecheck. */
import type { AuthOptions } from '@echostream/plugin-auth'

type Tokens = NonNullable<AuthOptions['tokens']>

export const ok: Tokens = [{ token: 'secret-token', identity: { id: 'ops', role: 'admin' } }]
export const anyIdentity: Tokens = [{ token: 'secret-token', identity: 'ops' }]
// @ts-expect-error a token is a string
export const badToken: Tokens = [{ token: 42, identity: 'ops' }]
// @ts-expect-error no other fields
export const extra: Tokens = [{ token: 'secret-token', identity: 'ops', role: 'admin' }]

// @ts-expect-error identity is required
export const noIdentity: Tokens = [{ token: 'secret-token' }]
