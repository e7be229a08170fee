/** ServiceWatch over a fake mDNS socket: ordering, filtering and closing, without the network. */
import { describe, expect, it } from 'vitest'
import { collect, ServiceWatch } from '../../src/browse.js'
import type { BrowseHandlers, Mdns, RawService } from '../../src/mdns.js'
import { encodeTxt } from '../../src/txt.js'

function fakeMdns() {
  let handlers: BrowseHandlers | undefined
  const state = { closed: 0, stopped: 0, requeries: 0 }
  const mdns: Mdns = {
    publish: () => ({ published: Promise.resolve(), updateTxt: () => {} }),
    browse(h) {
      handlers = h
      return { requery: () => state.requeries++, stop: () => state.stopped++ }
    },
    close: async () => void state.closed++,
  }
  return { mdns, state, handlers: () => handlers! }
}

function raw(name: string, port: number, extra: Record<string, string> = {}): RawService {
  const txt = encodeTxt({ name, protocol: 1, codec: 'msgpack', plugins: {}, scheme: 'ws', path: '/' })
  return { instance: `${name}@h:${port}`, fqdn: `${name}@h:${port}._echostream._tcp.local`, host: 'h', port, referer: { address: '127.0.0.1', family: 'IPv4' }, txt: { ...txt, ...extra } }
}

describe('ServiceWatch', () => {
  it('reports ups and downs in order, only for the name asked for, and once per change', async () => {
    const { mdns, handlers } = fakeMdns()
    const watch = new ServiceWatch(mdns, 'chat', {}, () => {})
    const h = handlers()
    h.up(raw('chat', 1))
    h.up(raw('other', 2))
    h.up(raw('chat', 1)) // the same answer again: no event
    h.up(raw('chat', 3))
    h.down(raw('other', 2)) // never reported up here: no event
    h.down(raw('chat', 1))
    h.up(raw('chat', 3, { app: '2' })) // changed TXT: reported up again with the new data
    h.up(raw('chat', 3, { name: 'renamed' })) // renamed away from the filter: down
    const events = []
    for (let i = 0; i < 5; i++) events.push((await watch.next()).value)
    expect(events.map((e) => `${e.type} ${e.service.port}`)).toEqual(['up 1', 'up 3', 'down 1', 'up 3', 'down 3'])
    expect(events[3].service.txt.appVersion).toBe('2')
    expect(watch.current()).toEqual([])
    await watch.return()
  })

  it('closing ends a pending next(), stops browsing and closes the socket once', async () => {
    const { mdns, state } = fakeMdns()
    const closed: ServiceWatch[] = []
    const watch = new ServiceWatch(mdns, undefined, {}, (w) => closed.push(w))
    const pending = watch.next()
    await Promise.all([watch.return(), watch.return()])
    expect(await pending).toEqual({ value: undefined, done: true })
    expect(await watch.next()).toEqual({ value: undefined, done: true })
    expect(state).toMatchObject({ closed: 1, stopped: 1 })
    expect(closed).toEqual([watch])
  })

  it('a socket failure rejects the pending next() once, then the iteration is over', async () => {
    const { mdns, handlers, state } = fakeMdns()
    const watch = new ServiceWatch(mdns, undefined, {}, () => {})
    const pending = watch.next()
    handlers().error(new Error('bind EADDRINUSE'))
    await expect(pending).rejects.toThrow('EADDRINUSE')
    expect(await watch.next()).toEqual({ value: undefined, done: true })
    await watch.return()
    expect(state.closed).toBe(1)
  })

  it('collect() returns who is up at the deadline and rejects on a socket failure', async () => {
    const a = fakeMdns()
    const watch = new ServiceWatch(a.mdns, undefined, {}, () => {})
    a.handlers().up(raw('chat', 1))
    a.handlers().up(raw('chat', 2))
    a.handlers().down(raw('chat', 1))
    expect((await collect(watch, 20)).map((s) => s.port)).toEqual([2])
    expect(a.state.closed).toBe(1)

    const b = fakeMdns()
    const failing = new ServiceWatch(b.mdns, undefined, {}, () => {})
    setTimeout(() => b.handlers().error(new Error('EACCES')), 5)
    await expect(collect(failing, 10_000)).rejects.toThrow('EACCES')
    expect(b.state.closed).toBe(1)
  })
})
