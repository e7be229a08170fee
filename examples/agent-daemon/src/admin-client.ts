/** A client of the admin channel (what the CLI and the tests use): the admin token in the handshake. */
import { createClient } from '@echostream/node'
import presetDefault from '@echostream/preset-default'
import auth from '@echostream/plugin-auth'

export async function connectAdmin(url: string, token: string, options: { timeoutMs?: number } = {}) {
  const client = await createClient({ preset: presetDefault, plugins: [auth], url, handshakeTimeoutMs: options.timeoutMs ?? 10_000, options: { auth: { credentials: token } } })
  await client.start()
  return client
}

export type AdminClient = Awaited<ReturnType<typeof connectAdmin>>
