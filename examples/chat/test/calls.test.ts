/**
 * A chat node's calls against bad and hostile input, over a real socket (one node in this process,
 * a real redis-server): each gets a coded error that says what to do, nothing runs for an
 * anonymous session but the login, a resend is stored once, and an upload that lies is refused.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createClient, type EchoError } from '@echostream/kernel'
import presetCluster from '@echostream/preset-cluster'
import auth from '@echostream/plugin-auth'
import streams from '@echostream/plugin-streams'
import { startRedis } from '../../../test/helpers/redis.js'
import { onCleanup, tempDir, track } from '../../../test/helpers/fixtures.js'
import { createChatNode } from '../src/server.js'

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: EchoError) => error)

async function setup() {
  const redis = await startRedis()
  const node = await createChatNode({ redisUrl: redis.url, dataDir: tempDir(), secret: 's', nodeId: 'a' })
  const url = await node.start()
  onCleanup(() => node.stop())
  const connect = async (credentials?: unknown) => {
    const client = track(await createClient({ preset: presetCluster, plugins: [auth, streams], options: { cluster: { urls: [url] }, auth: credentials ? { credentials } : {} } }))
    await client.start()
    return client
  }
  return { connect }
}

describe('chat: calls against bad input', () => {
  it('anonymous sessions may only log in; the login gives a token the handshake accepts', async () => {
    const { connect } = await setup()
    const page = await connect()
    expect((await failure(page.rpc.request('chat.sync', { cursors: {} })))?.code).toBe('E_UNAUTHORIZED')
    expect((await failure(page.rpc.request('chat.login', { user: 'ada', password: 'nope' })))?.code).toBe('E_UNAUTHORIZED')
    expect((await failure(page.rpc.request('chat.login', { user: { $ne: 1 }, password: [] })))?.code).toBe('E_UNAUTHORIZED')
    const { token, user } = (await page.rpc.request('chat.login', { user: 'ada', password: 'lovelace' })) as { token: string; user: string }
    expect(user).toBe('ada')
    expect(await page.rpc.request('chat.who', null)).toMatchObject({ me: 'ada' })
    const again = await connect({ token })
    expect(await again.rpc.request('chat.who', null)).toMatchObject({ me: 'ada' })
    // a token altered by one character is refused at the handshake
    await expect(connect({ token: token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A') })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' })
  })

  it('messages: coded errors for bad input, membership checked, a resend stored once', async () => {
    const { connect } = await setup()
    const ada = await connect({ user: 'ada', password: 'lovelace' })
    const cy = await connect({ user: 'cy', password: 'cypher' })
    expect((await failure(ada.rpc.request('chat.send', { to: 'bob', text: 'hi' })))?.code).toBe('E_INVALID_PAYLOAD') // no cid
    expect((await failure(ada.rpc.request('chat.send', { to: 'bob', text: 'x'.repeat(4001), cid: 'c1' })))?.code).toBe('E_INVALID_PAYLOAD')
    expect((await failure(ada.rpc.request('chat.send', { to: 'nobody', text: 'hi', cid: 'c1' })))?.code).toBe('E_NO_SUCH_USER')
    expect((await failure(ada.rpc.request('chat.send', { text: 'hi', cid: 'c1' })))?.code).toBe('E_INVALID_PAYLOAD')
    expect((await failure(ada.rpc.request('chat.send', null)))?.code).toBe('E_INVALID_PAYLOAD')
    expect(await ada.rpc.request('chat.send', { to: 'bob', text: 'hi', cid: 'c1' })).toEqual({ conv: 'dm:ada:bob', seq: 1 })
    // the same client id again (a retry whose first answer was lost): the same seq, nothing new
    expect(await ada.rpc.request('chat.send', { conv: 'dm:ada:bob', text: 'hi', cid: 'c1' })).toEqual({ conv: 'dm:ada:bob', seq: 1 })
    expect(await ada.rpc.request('chat.send', { conv: 'dm:ada:bob', text: 'two', cid: 'c2' })).toEqual({ conv: 'dm:ada:bob', seq: 2 })
    // cy is not in ada and bob's conversation
    const notMember = await failure(cy.rpc.request('chat.send', { conv: 'dm:ada:bob', text: 'sneak', cid: 'c1' }))
    expect(notMember?.code).toBe('E_NOT_MEMBER')
    expect(notMember?.message).toMatch(/join the group first/)
    expect((await failure(cy.rpc.request('chat.history', { conv: 'dm:ada:bob' })))?.code).toBe('E_NOT_MEMBER')
    expect((await failure(cy.rpc.request('chat.group.join', { name: '../etc' })))?.code).toBe('E_INVALID_PAYLOAD')
    const sync = (await ada.rpc.request('chat.sync', { cursors: { 'dm:ada:bob': 'x', nope: -5 } })) as { messages: Array<{ seq: number; text: string }> }
    expect(sync.messages.map((m) => `${m.seq}:${m.text}`)).toEqual(['1:hi', '2:two'])
  })

  it('files: a lying offset, another user’s file, and a wrong sha256 are refused', async () => {
    const { connect } = await setup()
    const ada = await connect({ user: 'ada', password: 'lovelace' })
    const cy = await connect({ user: 'cy', password: 'cypher' })
    const content = Buffer.from('hello, file')
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
    expect((await failure(ada.rpc.request('chat.file.begin', { to: 'bob', name: 'f', size: 5, sha256: 'abc' })))?.code).toBe('E_INVALID_PAYLOAD')
    expect((await failure(ada.rpc.request('chat.file.begin', { to: 'bob', name: 'f', size: 2 ** 40, sha256: sha(content) })))?.code).toBe('E_INVALID_PAYLOAD')
    const { fileId } = (await ada.rpc.request('chat.file.begin', { to: 'bob', name: 'f.txt', size: content.length, sha256: sha(Buffer.from('other')) })) as { fileId: string }
    expect((await failure(cy.rpc.request('chat.file.status', { fileId })))?.code).toBe('E_NO_SUCH_FILE')
    // an upload that claims to continue at byte 3 of an empty part is cancelled with the offset to use
    const liar = await ada.streams.open<Buffer>('chat.upload', { fileId, offset: 3 })
    const reason = await new Promise<EchoError>((resolve) => (liar.signal.aborted ? resolve(liar.signal.reason as EchoError) : liar.signal.addEventListener('abort', () => resolve(liar.signal.reason as EchoError))))
    expect(reason.code).toBe('E_OFFSET')
    expect(reason.message).toMatch(/continue at byte 0/)
    expect((await failure(ada.streams.open('chat.upload', { fileId, offset: 'zero' })))?.code).toBe('E_INVALID_PAYLOAD')
    // the whole file, but not the one its sha256 named: discarded, the message never posted
    const acks: Array<{ offset: number; done?: boolean }> = []
    ada.events.on('chat.file.ack', (ack: { offset: number; done?: boolean }) => void acks.push(ack))
    const writer = await ada.streams.open<Buffer>('chat.upload', { fileId, offset: 0 })
    await writer.write(content)
    await writer.end()
    await expect.poll(() => ada.rpc.request('chat.file.status', { fileId }).then((s) => s, (e: EchoError) => e.code), { timeout: 5000 }).toEqual({ offset: 0, done: false })
    expect(acks.some((a) => a.done)).toBe(false)
    expect((await failure(ada.rpc.request('chat.file.get', { fileId })))?.code).toBe('E_NO_SUCH_FILE')
  })
})
