/**
 * `echostream status` / `inspect --url` (fetchStatus) against a server whose `devtools.snapshot`
 * answers something that is not a devtools snapshot (not the devtools plugin, or another version of
 * it): one coded error, E_PROTOCOL from the CLI's error table, naming the server and what to do.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EchoError } from '@echostream/kernel'
import { fetchStatus } from '@echostream/node'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import { describe, expect, it } from 'vitest'
import { createServer } from '../helpers/create.js'
import { track } from '../helpers/fixtures.js'

/** The test package's folder: @echostream/preset-default resolves from it (the CLI's fallback client). */
const cwd = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('fetchStatus: an answer that is not a snapshot', () => {
  it('is E_PROTOCOL naming the server and the fix, for each shape of wrong answer', { timeout: 30_000 }, async () => {
    const answers: unknown[] = [42, null, 'snapshot', [], { sessions: [] }, { server: null }]
    let next = 0
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, rpc, events], options: { 'transport-ws': { port: 0 } } }))
    server.rpc.handle('devtools.snapshot', () => answers[next++])
    await server.start()
    for (const answer of answers) {
      const error = await fetchStatus({ url: server.url, cwd, timeoutMs: 5000 }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error, JSON.stringify(answer)).toBeInstanceOf(EchoError)
      expect((error as EchoError).code).toBe('E_PROTOCOL')
      expect((error as EchoError).message).toBe(`The server at ${server.url} answered devtools.snapshot with something that is not a snapshot: update @echostream/plugin-devtools on the server.`)
    }
    expect(next).toBe(answers.length)
  })
})
