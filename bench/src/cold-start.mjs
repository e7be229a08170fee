/**
 * Cold start, one fresh process per run: from the process's start (performance.timeOrigin) to its
 * server listening. echostream peers load their config FILE (bench/fixtures/<peer>.config.mjs:
 * cosmiconfig, the preset, plugin resolution and option validation) with `createServer(file)`
 * and `start()`; the other peers start their server as the other workloads do (they have no
 * config files). Reports { ms } over IPC, then stops its server and exits.
 */
import { fileURLToPath } from 'node:url'

const spec = JSON.parse(process.env.BENCH_SPEC)
const send = (msg) => new Promise((resolve) => process.send(msg, resolve))
process.on('disconnect', () => process.exit(0))

let stop
if (spec.peer === 'echostream' || spec.peer === 'echostream-tcp') {
  const { createServer } = await import('@echostream/node')
  const server = await createServer(fileURLToPath(new URL(`../fixtures/${spec.peer}.config.mjs`, import.meta.url)))
  await server.start()
  stop = () => server.stop()
} else {
  const { loadPeer } = await import('./peers/index.mjs')
  const server = await (await loadPeer(spec.peer)).startServer({ mode: 'rpc' })
  stop = () => server.stop()
}
const ms = performance.now()
await send({ type: 'result', result: { value: ms } })
await Promise.race([stop().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2000))])
process.exit(0)
