/**
 * Room and broadcast channels as Centrifuge keeps them: every event gets an offset in its
 * channel's epoch (assigned in Redis by the `publish` script), and every node delivers a channel's
 * events in offset order. A node subscribes only to the rooms it hosts. A gap in the offsets (a
 * subscription broken by a Redis restart or blip) is filled from the channel's history when it
 * still holds the missing events, and reported when it does not — never passed over in silence.
 */
import { randomBytes } from 'node:crypto'
import type { Broker } from './broker.js'
import type { ChannelKeys, ClusterKeys } from './keys.js'
import { packBody, parseEntry, parseTagged, type ChannelMessage } from './messages.js'
import type { Frame } from '@echostream/kernel'

/** Why events may be missing, as reported in a `gap` event. */
export type GapReason = 'trimmed' | 'epoch' | 'limit' | 'broker-down' | 'publish-failed' | 'in-doubt'

export interface Gap {
  /**
   * `room` (with `room`), `broadcast`, `publish` (this node could not publish: delivered locally
   * only), or `session` (frames from a resumed session's client that the node that died had
   * received but may not have handled: `in-doubt`, with `sessionId`).
   */
  scope: 'room' | 'broadcast' | 'publish' | 'session'
  room?: string
  sessionId?: string
  reason: GapReason
  /** First and last missing offsets, when known. */
  from?: number
  to?: number
  epoch?: string
  /** `publish` gaps: the event that other nodes did not get (the app may send it again). */
  event?: string
  data?: unknown
}

export interface ChannelState {
  readonly room: string | null
  readonly keys: ChannelKeys
  epoch: string
  /** Last offset delivered on this node. */
  offset: number
  /** Messages that arrived while a recovery read was in flight. */
  queue: ChannelMessage[] | null
  ready: Promise<void>
}

export interface History {
  epoch: string
  offset: number
  messages: ChannelMessage[]
}

export interface ChannelsOptions {
  nodeId: string
  roomHistory: number
  roomHistoryTtlMs: number
  catchUpLimit: number
  /** Delivers one message to this node's sessions. */
  deliver(channel: ChannelState, message: ChannelMessage): void
  gap(gap: Gap): void
  logError(message: string): void
}

const newEpoch = () => randomBytes(6).toString('hex')
const text = (value: unknown) => (Buffer.isBuffer(value) ? value.toString() : String(value ?? ''))

export class Channels {
  #channels = new Map<string | null, ChannelState>()

  constructor(
    private readonly broker: Broker,
    private readonly keys: ClusterKeys,
    private readonly options: ChannelsOptions,
  ) {}

  get(room: string | null): ChannelState | undefined {
    return this.#channels.get(room)
  }

  all(): IterableIterator<ChannelState> {
    return this.#channels.values()
  }

  /** Subscribes (once) to a room's channel, or the broadcast channel for `null`. */
  ensure(room: string | null): ChannelState {
    let channel = this.#channels.get(room)
    if (channel) return channel
    const keys = room === null ? this.keys.broadcast : this.keys.roomOf(room)
    channel = { room, keys, epoch: '', offset: 0, queue: [], ready: Promise.resolve() }
    this.#channels.set(room, channel)
    const state = channel
    // The position first, then the subscription, then a history read from that position: events
    // published in between are read back instead of lost (pub/sub does not deliver them).
    state.ready = (async () => {
      try {
        const head = await this.history(state.keys, Number.MAX_SAFE_INTEGER)
        state.epoch = head.epoch
        state.offset = head.offset
      } catch (error) {
        this.options.logError(`cluster: reading the position of ${state.keys.channel} failed: ${(error as Error).message}`)
      }
      await this.broker.subscribe(keys.channel, (message) => this.#onMessage(state, message))
      await this.recover(state)
    })().catch((error) => this.options.logError(`cluster: subscribing ${keys.channel} failed: ${(error as Error).message}`))
    return channel
  }

  /** Unsubscribes a room this node no longer hosts. */
  release(room: string): void {
    const channel = this.#channels.get(room)
    if (!channel) return
    this.#channels.delete(room)
    void this.broker.unsubscribe(channel.keys.channel).catch(() => {})
  }

  /** Publishes through Redis (the event reaches every node, this one included, in offset order). */
  async publish(room: string | null, targets: readonly string[] | null, except: readonly string[] | null, frame: Frame, volatile: boolean): Promise<void> {
    const keys = room === null ? this.keys.broadcast : this.keys.roomOf(room)
    const body = packBody(this.options.nodeId, targets, except, frame, volatile)
    await this.broker.run('publish', [keys.meta, keys.log], [keys.channel, body, this.options.roomHistory, this.options.roomHistoryTtlMs, newEpoch()])
  }

  /** A bounded read of a channel's history after `from`. */
  async history(keys: ChannelKeys, from: number, max = this.options.catchUpLimit): Promise<History> {
    const reply = (await this.broker.run('history', [keys.meta, keys.log], [from, max], true)) as [Buffer, number, unknown[]]
    const epoch = text(reply[0])
    const messages: ChannelMessage[] = []
    for (const entry of reply[2] ?? []) {
      const message = parseEntry(epoch, entry)
      if (message) messages.push(message)
    }
    return { epoch, offset: Number(reply[1]), messages }
  }

  /** After a broker outage: every channel reads what it missed. */
  resyncAll(): void {
    for (const channel of this.#channels.values()) void this.recover(channel)
  }

  #onMessage(channel: ChannelState, raw: Buffer): void {
    const message = parseTagged(raw)
    if (!message) return this.options.logError(`cluster: an unreadable message on ${channel.keys.channel} was dropped`)
    if (channel.queue) {
      channel.queue.push(message)
      return
    }
    this.#sequence(channel, message)
  }

  /** In order → deliver; already seen → drop; ahead → read the gap from history first. */
  #sequence(channel: ChannelState, message: ChannelMessage): void {
    if (message.epoch === channel.epoch || channel.epoch === '') {
      if (channel.epoch === '' && channel.offset === 0) channel.epoch = message.epoch
      if (message.epoch === channel.epoch) {
        if (message.offset <= channel.offset) return
        if (message.offset === channel.offset + 1) {
          channel.offset = message.offset
          this.options.deliver(channel, message)
          return
        }
      }
    }
    channel.queue = [message]
    void this.recover(channel)
  }

  /** Reads the channel's history from its last offset, delivers it in order, then what queued meanwhile. */
  async recover(channel: ChannelState): Promise<void> {
    channel.queue ??= []
    const scope = channel.room === null ? 'broadcast' : 'room'
    const room = channel.room ?? undefined
    try {
      let history = await this.history(channel.keys, channel.offset)
      if (history.epoch !== channel.epoch) {
        if (channel.epoch !== '' && (channel.offset > 0 || history.epoch !== '')) {
          // A new epoch: Redis lost (or expired) the history this node was reading. What came after
          // our last offset in the old epoch cannot be known.
          this.options.gap({ scope, room, reason: 'epoch', from: channel.offset + 1, epoch: channel.epoch })
        }
        channel.epoch = history.epoch
        channel.offset = 0
        if (history.epoch !== '') history = await this.history(channel.keys, 0)
      }
      const first = history.messages[0]
      if (first && first.offset > channel.offset + 1) {
        this.options.gap({ scope, room, reason: 'trimmed', from: channel.offset + 1, to: first.offset - 1, epoch: channel.epoch })
        channel.offset = first.offset - 1
      } else if (!first && history.offset > channel.offset) {
        this.options.gap({ scope, room, reason: 'trimmed', from: channel.offset + 1, to: history.offset, epoch: channel.epoch })
        channel.offset = history.offset
      }
      for (const message of history.messages) {
        if (message.offset !== channel.offset + 1) continue
        channel.offset = message.offset
        this.options.deliver(channel, message)
      }
      const last = history.messages.at(-1)?.offset ?? channel.offset
      if (history.offset > last) {
        // More was missed than one bounded read returns.
        this.options.gap({ scope, room, reason: 'limit', from: last + 1, to: history.offset, epoch: channel.epoch })
        channel.offset = history.offset
      }
    } catch (error) {
      // The broker went away again: what queued is delivered; the hole before it is reported.
      const next = channel.queue?.[0]
      if (next && next.epoch === channel.epoch && next.offset > channel.offset + 1) {
        this.options.gap({ scope, room, reason: 'broker-down', from: channel.offset + 1, to: next.offset - 1, epoch: channel.epoch })
        channel.offset = next.offset - 1
      }
      this.options.logError(`cluster: catching up ${channel.keys.channel} failed: ${(error as Error).message}`)
    }
    const queued = channel.queue ?? []
    channel.queue = null
    for (const message of queued) {
      // A message may start another recovery (a second gap): the rest waits behind it.
      const waiting = channel.queue as ChannelMessage[] | null
      if (waiting) waiting.push(message)
      else this.#sequence(channel, message)
    }
  }
}
