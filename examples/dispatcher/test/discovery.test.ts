/**
 * Workers found over mDNS on loopback (this file's own port, never 5353): they advertise
 * `dispatch-worker` with their capabilities in TXT properties (`caps`, `slots`, `worker`); the
 * dispatcher connects to those offering a capability it serves, ignores the others until their
 * record changes (`setProperties`, announced at once), and forgets one that says goodbye.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { startDispatcher } from '../src/dispatcher.js'
import { concat, infer, utteranceAudio } from '../src/model.js'
import { openSession } from '../src/session.js'
import { spawnWorker, type WorkerProcess } from '../src/spawn.js'
import { startWorker, type Worker } from '../src/worker.js'
import { mdnsGroupOutsideLoopback, udpSockets } from '../../../test/helpers/discovery-net.js'

const MDNS_PORT = 5376
const mdns = { interface: '127.0.0.1', mdnsPort: MDNS_PORT }
const processes: WorkerProcess[] = []
const stops: Array<() => Promise<unknown>> = []

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {})
  for (const p of processes) await p.kill('SIGKILL')
  expect(udpSockets(MDNS_PORT) ?? 0).toBe(0) // every mDNS socket of this process is closed
  expect(mdnsGroupOutsideLoopback()).toEqual([]) // nothing joined the mDNS group off loopback
})

async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string, state?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state ? `\n${JSON.stringify(state(), null, 1)}` : ''}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('workers found through mDNS TXT capabilities', () => {
  it('connects to capable workers, routes by capability, follows TXT changes and goodbyes', async () => {
    const flags = ['--mdns', '--mdns-interface', '127.0.0.1', '--mdns-port', String(MDNS_PORT), '--delay-ms', '5,20,80', '--heartbeat-ms', '100']
    const [wa, wb] = await Promise.all([spawnWorker(['--id', 'wa', '--caps', 'recognise', '--slots', '3', ...flags]), spawnWorker(['--id', 'wb', '--caps', 'recognise,translate', ...flags])])
    processes.push(wa!, wb!)
    // In this process: a worker that offers nothing this dispatcher serves (yet).
    const wc: Worker = await startWorker({ id: 'wc', capabilities: ['diarise'], mdns, delay: { minMs: 5, meanMs: 20, maxMs: 80 }, heartbeatMs: 100 })
    stops.push(() => wc.stop())

    const t0 = Date.now()
    const dispatcher = await startDispatcher({ discovery: { enabled: true, ...mdns }, capabilities: ['recognise', 'translate'], metrics: { port: 0 }, logLevel: 'warn' })
    stops.push(() => dispatcher.stop())
    const view = () => dispatcher.workers()
    await waitUntil(() => view().filter((w) => w.state === 'ready').length === 2, 20_000, 'wa and wb registered through discovery', view)

    const found = Date.now() - t0
    const byId = new Map(view().map((w) => [w.id, w]))
    expect(byId.get('wa')).toMatchObject({ source: 'mdns', url: wa!.url, capabilities: ['recognise'], slots: 3, advertised: { id: 'wa', capabilities: ['recognise'], slots: 3 } })
    expect(byId.get('wb')).toMatchObject({ source: 'mdns', url: wb!.url, capabilities: ['recognise', 'translate'], advertised: { capabilities: ['recognise', 'translate'], slots: 2 } })
    expect(byId.has('wc')).toBe(false) // advertises only 'diarise': not used

    const session = await openSession(dispatcher.url)
    stops.push(() => session.close())
    const capabilityOf = (i: number) => (i % 2 ? 'translate' : 'recognise')
    for (let i = 0; i < 20; i++) await session.send(i, capabilityOf(i), utteranceAudio(500 + i, 2, 256))
    const results = await session.waitFor(20, 30_000)
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    for (const r of results) {
      expect(r.text).toBe(infer(capabilityOf(r.index), concat(utteranceAudio(500 + r.index, 2, 256))))
      if (r.capability === 'translate') expect(r.worker).toBe('wb')
    }
    expect(new Set(results.filter((r) => r.capability === 'recognise').map((r) => r.worker))).toContain('wa')

    // wc learns to translate: its TXT record changes (setProperties), the dispatcher sees it and connects.
    const t1 = Date.now()
    wc.setCapabilities(['diarise', 'translate'])
    await waitUntil(() => view().some((w) => w.id === 'wc' && w.state === 'ready'), 15_000, 'wc registered after its TXT change', view)
    expect(view().find((w) => w.id === 'wc')).toMatchObject({ source: 'mdns', advertised: { capabilities: ['diarise', 'translate'] } })

    const changed = Date.now() - t1
    // wb stops cleanly: its goodbye reaches the dispatcher, which forgets it.
    const t2 = Date.now()
    await wb!.kill('SIGTERM')
    await waitUntil(() => !view().some((w) => w.id === 'wb'), 15_000, 'wb forgotten after its goodbye', view)
    console.log(`discovery: 2 workers registered ${found} ms after the dispatcher started; TXT change followed in ${changed} ms; goodbye (SIGTERM to forgotten) in ${Date.now() - t2} ms`)
    for (let i = 20; i < 26; i++) await session.send(i, 'translate', utteranceAudio(500 + i, 2, 256))
    const more = await session.waitFor(26, 30_000)
    expect(more.slice(20).map((r) => `${r.index}:${r.worker}`)).toEqual(Array.from({ length: 6 }, (_, k) => `${20 + k}:wc`))
  }, 60_000)
})
