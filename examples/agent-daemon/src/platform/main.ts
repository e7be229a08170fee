/**
 * The fake platform as its own process: `PLATFORM_PORT` (default 0), `PLATFORM_BOT_TOKEN`.
 * Prints one JSON line `{"type":"listening","url":"tcp://127.0.0.1:PORT"}` once it listens; stops on
 * SIGTERM/SIGINT.
 */
import { startPlatform } from './server.js'

const platform = await startPlatform({
  port: Number(process.env.PLATFORM_PORT ?? 0),
  botToken: process.env.PLATFORM_BOT_TOKEN ?? 'bot-dev-token',
})
console.log(JSON.stringify({ type: 'listening', url: platform.url, pid: process.pid }))
const stop = () => void platform.close().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
