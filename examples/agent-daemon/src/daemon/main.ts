/**
 * The daemon process: `main.ts --config FILE`. Runs until SIGTERM/SIGINT or `admin.shutdown`, then
 * drains and exits 0. `agentd start` runs this detached; `agentd start --foreground` runs it in place.
 */
import { EchoError } from '@echostream/node'
import { loadConfig } from './config.js'
import { startDaemon } from './daemon.js'

export async function runDaemon(configFile: string): Promise<void> {
  const daemon = await startDaemon(loadConfig(configFile))
  let signals = 0
  const onSignal = (signal: string) => {
    if (++signals > 1) process.exit(1) // a second signal: do not wait for the drain
    void daemon.shutdown(signal)
  }
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  process.on('SIGINT', () => onSignal('SIGINT'))
  await daemon.closed
  // pino writes synchronously to stdout; nothing is left to flush
  process.exit(0)
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))
if (isMain) {
  const at = process.argv.indexOf('--config')
  runDaemon(at > 0 ? process.argv[at + 1]! : 'agentd.config.json').catch((error) => {
    const e = EchoError.from(error)
    console.error(`${e.code}: ${e.message}`)
    process.exit(1)
  })
}
