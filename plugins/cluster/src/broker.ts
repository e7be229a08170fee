/**
 * The Redis side, behind one small interface (STYLE rule 11): a command connection that fails fast
 * while Redis is away (no offline queue: a late replay of stale commands would be worse than a
 * reported gap), a subscriber connection that resubscribes by itself, the scripts, and one
 * up/down signal that both connections feed (readiness).
 *
 * Commands are written to the socket when issued (no auto-pipelining): a claim or a log append
 * issued before a frame is handled or written is in Redis' receive buffer before anything else
 * happens, so a node killed right after cannot have handled a frame that Redis does not know of.
 */
import { Redis, type RedisOptions } from 'ioredis'
import { scripts, type ScriptName } from './scripts.js'
import { clusterErrors } from './errors.js'

export type BrokerState = 'connecting' | 'up' | 'down' | 'closed'

export interface BrokerEvents {
  /** Both connections are ready again after an outage (the subscriber has resubscribed). */
  up(): void
  /** A connection was lost; `since` is when. */
  down(since: number): void
}

type MessageHandler = (message: Buffer) => void

const retryStrategy = (times: number) => Math.min(50 * times, 500)

export class Broker {
  readonly cmd: Redis
  readonly sub: Redis
  state: BrokerState = 'connecting'
  /** When the broker last went down (ms), for gap reports. */
  downSince = 0
  #handlers = new Map<string, MessageHandler>()
  #listeners: { [K in keyof BrokerEvents]: Set<BrokerEvents[K]> } = { up: new Set(), down: new Set() }
  #everUp = false

  constructor(url: string, onError: (message: string) => void) {
    const common: RedisOptions = { lazyConnect: true, retryStrategy, enableAutoPipelining: false, connectionName: 'echostream-cluster' }
    this.cmd = new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
    this.sub = new Redis(url, { ...common, autoResubscribe: true, maxRetriesPerRequest: null })
    // Prefixed: a script named `publish` or `append` would replace ioredis' own command of that name.
    // (keys -1: the caller passes the number of keys first.)
    for (const [name, def] of Object.entries(scripts)) this.cmd.defineCommand(`es_${name}`, def.keys < 0 ? { lua: def.lua } : { numberOfKeys: def.keys, lua: def.lua })
    let lastError = ''
    const onConnError = (error: Error) => {
      // ioredis reports every failed reconnect attempt; say it once per distinct message.
      if (error.message !== lastError) onError(`redis: ${error.message}`)
      lastError = error.message
    }
    this.cmd.on('error', onConnError)
    this.sub.on('error', onConnError)
    const check = () => this.#check()
    for (const conn of [this.cmd, this.sub]) {
      conn.on('ready', check)
      conn.on('close', check)
      conn.on('end', check)
    }
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      this.#handlers.get(channel.toString())?.(message)
    })
  }

  get ready(): boolean {
    return this.state === 'up'
  }

  on<K extends keyof BrokerEvents>(event: K, listener: BrokerEvents[K]): () => void {
    this.#listeners[event].add(listener)
    return () => this.#listeners[event].delete(listener)
  }

  /** Connects both; rejects with E_BROKER_DOWN after `timeoutMs`. */
  async connect(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(clusterErrors.brokerDown('the node', new Error(`no connection within ${timeoutMs} ms`))), timeoutMs)
    })
    try {
      await Promise.race([Promise.all([this.cmd.connect(), this.sub.connect()]), deadline])
    } catch (error) {
      this.close()
      throw error
    } finally {
      clearTimeout(timer)
    }
    this.#check()
  }

  close(): void {
    this.state = 'closed'
    this.cmd.disconnect()
    this.sub.disconnect()
  }

  /** Runs a script; its reply as strings (or Buffers with `binary`). */
  run(name: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number | Buffer | Uint8Array>, binary = false): Promise<unknown> {
    const fn = (this.cmd as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[binary ? `es_${name}Buffer` : `es_${name}`]!
    return scripts[name].keys < 0 ? fn.call(this.cmd, keys.length, ...keys, ...args) : fn.call(this.cmd, ...keys, ...args)
  }

  /** Subscribes `channel` (resolves once Redis confirmed) and routes its messages to `handler`. */
  async subscribe(channel: string, handler: MessageHandler): Promise<void> {
    this.#handlers.set(channel, handler)
    await this.sub.subscribe(channel)
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#handlers.delete(channel)
    if (this.sub.status === 'ready') await this.sub.unsubscribe(channel)
  }

  #check(): void {
    if (this.state === 'closed') return
    const up = this.cmd.status === 'ready' && this.sub.status === 'ready'
    if (up && this.state !== 'up') {
      const again = this.#everUp
      this.#everUp = true
      this.state = 'up'
      if (again) for (const listener of this.#listeners.up) listener()
    } else if (!up && this.state === 'up') {
      this.state = 'down'
      this.downSince = Date.now()
      for (const listener of this.#listeners.down) listener(this.downSince)
    }
  }
}
