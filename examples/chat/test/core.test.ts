/**
 * Unit test of public/chat-core.js alone (a stand-in client, no network): what a device shows is
 * decided by each conversation's seq — repeats dropped, a message after a gap held until the gap
 * is fetched, and a send retried with the same client id until it is answered.
 */
import { describe, expect, it } from 'vitest'
import { createChat } from '../public/chat-core.js'

type Message = { conv: string; seq: number; from: string; at: number; text: string }
const msg = (seq: number, conv = 'g:team'): Message => ({ conv, seq, from: 'ada', at: 0, text: `m${seq}` })

function fakeClient(stored: Message[]) {
  const handlers = new Map<string, (data: unknown) => void>()
  const calls: Array<{ method: string; params: Record<string, unknown> }> = []
  const failures: Record<string, string[]> = {}
  return {
    calls,
    failures,
    push: (name: string, data: unknown) => handlers.get(name)!(data),
    session: { state: 'open' },
    events: { on: (name: string, fn: (data: unknown) => void) => void handlers.set(name, fn), emit() {} },
    streams: { handle() {} },
    reconnect: { on() {} },
    rpc: {
      async request(method: string, params: Record<string, unknown>) {
        calls.push({ method, params: structuredClone(params) })
        const code = failures[method]?.shift()
        if (code) throw Object.assign(new Error(code), { code })
        if (method === 'chat.who') return { me: 'bob', users: ['ada', 'bob'], online: [] }
        if (method === 'chat.sync') {
          const cursors = params.cursors as Record<string, number>
          return { user: 'bob', convs: [{ id: 'g:team', kind: 'group', title: '#team', members: ['ada', 'bob'], head: stored.length, reads: {} }], messages: stored.filter((m) => m.seq > (cursors[m.conv] ?? 0)), more: false, online: [] }
        }
        if (method === 'chat.send') return { conv: params.conv, seq: 99 }
        throw new Error(`unexpected ${method}`)
      },
    },
  }
}

describe('chat-core delivery', () => {
  it('shows each message once, in order, whatever order and how often it arrives', async () => {
    const stored = [msg(1), msg(2)]
    const client = fakeClient(stored)
    const saved: Array<Record<string, number>> = []
    const chat = createChat({ client, storage: { load: () => ({}), save: (_: string, c: Record<string, number>) => void saved.push({ ...c }) }, setCredentials() {} })
    const shown: number[] = []
    chat.on('message', (m: Message) => void shown.push(m.seq))
    await chat.start()
    expect(shown).toEqual([1, 2])
    client.push('chat.msg', msg(2)) // a repeat (a replay after a failover)
    expect(shown).toEqual([1, 2])
    expect(chat.state.duplicatesDropped).toBe(1)
    // 4 arrives before 3: held, and the gap fetched
    stored.push(msg(3), msg(4))
    client.push('chat.msg', msg(4))
    expect(shown).toEqual([1, 2])
    await chat.sync()
    expect(shown).toEqual([1, 2, 3, 4])
    client.push('chat.msg', msg(3))
    client.push('chat.msg', msg(5))
    expect(shown).toEqual([1, 2, 3, 4, 5])
    expect(saved.at(-1)).toEqual({ 'g:team': 5 })
    // the sync after the gap asked from the cursor, not from the start (the sync asked for while
    // it ran made one more round, from the new cursor)
    expect(client.calls.filter((c) => c.method === 'chat.sync').map((c) => c.params.cursors)).toEqual([{}, { 'g:team': 2 }, { 'g:team': 4 }])
  })

  it('a device starts from its saved cursors', async () => {
    const client = fakeClient([msg(1), msg(2), msg(3)])
    const chat = createChat({ client, storage: { load: () => ({ 'g:team': 2 }), save() {} }, setCredentials() {} })
    const shown: number[] = []
    chat.on('message', (m: Message) => void shown.push(m.seq))
    await chat.start()
    expect(shown).toEqual([3])
  })

  it('a send is retried with the same client id on "try again" errors, and not on others', async () => {
    const client = fakeClient([])
    const chat = createChat({ client, storage: { load: () => ({}), save() {} }, setCredentials() {} })
    client.failures['chat.send'] = ['E_INTERRUPTED', 'E_NODE_LOST']
    expect(await chat.send('g:team', 'hello')).toEqual({ conv: 'g:team', seq: 99 })
    const sends = client.calls.filter((c) => c.method === 'chat.send')
    expect(sends).toHaveLength(3)
    expect(new Set(sends.map((c) => c.params.cid)).size).toBe(1)
    client.failures['chat.send'] = ['E_NOT_MEMBER']
    await expect(chat.send('g:team', 'no')).rejects.toMatchObject({ code: 'E_NOT_MEMBER' })
  })
})
