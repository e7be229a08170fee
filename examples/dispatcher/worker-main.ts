/**
 * One worker process. Flags (or env): --id (WORKER_ID), --caps recognise,translate (WORKER_CAPS),
 * --slots 2, --port 0, --seed 1, --delay-ms 20,60,400 (min,mean,max), --heartbeat-ms 250,
 * --mdns [--mdns-interface 127.0.0.1 --mdns-port 5353]. Prints one JSON line `{"event":"ready",…}`.
 */
import { parseArgs } from 'node:util'
import { seedOf } from './src/model.js'
import { startWorker } from './src/worker.js'

const { values } = parseArgs({
  options: {
    id: { type: 'string', default: process.env.WORKER_ID ?? `worker-${process.pid}` },
    caps: { type: 'string', default: process.env.WORKER_CAPS ?? 'recognise' },
    slots: { type: 'string', default: '2' },
    port: { type: 'string', default: process.env.PORT ?? '0' },
    host: { type: 'string', default: '127.0.0.1' },
    seed: { type: 'string' },
    'delay-ms': { type: 'string', default: '20,60,400' },
    'heartbeat-ms': { type: 'string', default: '250' },
    mdns: { type: 'boolean', default: false },
    'mdns-interface': { type: 'string', default: '127.0.0.1' },
    'mdns-port': { type: 'string', default: '5353' },
  },
})
const [minMs, meanMs, maxMs] = values['delay-ms'].split(',').map(Number)
const worker = await startWorker({
  id: values.id,
  capabilities: values.caps.split(',').filter(Boolean),
  slots: Number(values.slots),
  port: Number(values.port),
  host: values.host,
  seed: values.seed !== undefined ? Number(values.seed) : seedOf(values.id),
  delay: { minMs: minMs!, meanMs: meanMs!, maxMs: maxMs! },
  heartbeatMs: Number(values['heartbeat-ms']),
  mdns: values.mdns ? { interface: values['mdns-interface'], mdnsPort: Number(values['mdns-port']) } : undefined,
})
console.log(JSON.stringify({ event: 'ready', id: worker.info.id, url: worker.url, pid: process.pid, capabilities: worker.info.capabilities }))
const stop = () => void worker.stop().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
