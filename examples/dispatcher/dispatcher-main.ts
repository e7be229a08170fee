/**
 * The dispatcher as a process. Options as JSON in DISPATCHER_OPTIONS (the README's table), or
 * flags: --workers ws://…,ws://… --mdns [--mdns-port 5353 --mdns-interface 127.0.0.1] --port 0
 * --metrics-port 9464. Prints `{"event":"ready","url":…,"metrics":…}`.
 */
import { parseArgs } from 'node:util'
import { startDispatcher } from './src/dispatcher.js'
import type { DispatcherInput } from './src/options.js'

const { values } = parseArgs({
  options: {
    workers: { type: 'string' },
    mdns: { type: 'boolean', default: false },
    'mdns-port': { type: 'string', default: '5353' },
    'mdns-interface': { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: process.env.PORT ?? '0' },
    'metrics-port': { type: 'string', default: '9464' },
  },
})
const input: DispatcherInput = process.env.DISPATCHER_OPTIONS
  ? (JSON.parse(process.env.DISPATCHER_OPTIONS) as DispatcherInput)
  : {
      port: Number(values.port),
      workers: values.workers ? values.workers.split(',') : [],
      discovery: { enabled: values.mdns, mdnsPort: Number(values['mdns-port']), interface: values['mdns-interface'] },
      metrics: { port: Number(values['metrics-port']) },
    }
const dispatcher = await startDispatcher(input)
console.log(JSON.stringify({ event: 'ready', url: dispatcher.url, metrics: dispatcher.metricsUrl }))
const stop = () => void dispatcher.stop().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
