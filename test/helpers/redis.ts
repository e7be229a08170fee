/**
 * A real `redis-server` for a test (the cluster plugin's `startRedisServer`: a free loopback port,
 * persistence off), killed in teardown. `kill()` and `restart()` (same port, empty: no
 * persistence) simulate a broker crash.
 */
import { startRedisServer, type RedisServer } from '@echostream/plugin-cluster/redis-server'
import { onCleanup } from './fixtures.js'

export interface RedisProcess {
  port: number
  url: string
  kill(): Promise<void>
  restart(): Promise<void>
}

export async function startRedis(): Promise<RedisProcess> {
  let server: RedisServer = await startRedisServer()
  onCleanup(() => server.stop('SIGKILL'))
  return {
    port: server.port,
    url: server.url,
    kill: () => server.stop('SIGKILL'),
    async restart() {
      await server.stop('SIGKILL')
      server = await startRedisServer({ port: server.port })
    },
  }
}
