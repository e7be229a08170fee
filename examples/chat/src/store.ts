/**
 * The message store, in Redis (why not SQLite: see the README). Every conversation is a Redis
 * Stream whose entry ids are the conversation's own sequence numbers (`<seq>-0`), so "everything
 * after what this device has" is one bounded XRANGE, and order is the stream's. A message is
 * appended by one Lua script that checks membership, drops a resend of the same client id (the
 * sender's retry after its node died returns the first append's seq: nothing is stored twice),
 * takes the next seq and appends — atomically, whichever node runs it.
 *
 * Keys (prefix `chat:`): `c:{id}` hash (kind, title, seq = head), `c:{id}:m` set of members,
 * `c:{id}:log` stream, `c:{id}:read` hash user → last read seq, `u:{user}:c` set of conversations,
 * `u:{user}:cid` hash client id → seq (the resend filter; expires a week after the last send),
 * `f:{id}` hash of an uploaded file's metadata.
 */
import { Redis } from 'ioredis'

export interface FileRef {
  id: string
  name: string
  size: number
  sha256: string
}

export interface Message {
  conv: string
  seq: number
  from: string
  at: number
  text?: string
  file?: FileRef
}

export interface Conversation {
  id: string
  kind: 'dm' | 'group'
  title: string
  members: string[]
  head: number
  /** user → last seq they read */
  reads: Record<string, number>
}

export interface FileMeta extends FileRef {
  conv: string
  from: string
}

const APPEND = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {'not-member'} end
local known = redis.call('HGET', KEYS[4], ARGV[2])
if known then return {'dup', tonumber(known)} end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[3], seq .. '-0', 'm', ARGV[3])
redis.call('HSET', KEYS[4], ARGV[2], seq)
redis.call('PEXPIRE', KEYS[4], 604800000)
return {'ok', seq}`

const READ = `
local seq = tonumber(ARGV[2])
local head = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if seq > head then seq = head end
local before = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if seq <= before then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], seq)
return seq`

const k = {
  conv: (id: string) => `chat:c:{${id}}`,
  members: (id: string) => `chat:c:{${id}}:m`,
  log: (id: string) => `chat:c:{${id}}:log`,
  read: (id: string) => `chat:c:{${id}}:read`,
  convs: (user: string) => `chat:u:{${user}}:c`,
  cids: (user: string) => `chat:u:{${user}}:cid`,
  file: (id: string) => `chat:f:{${id}}`,
}

/** `dm:ada:bob` for ada and bob in either order. */
export const dmId = (a: string, b: string): string => `dm:${[a, b].sort().join(':')}`

export class ChatStore {
  readonly redis: Redis

  constructor(url: string) {
    // Commands wait while Redis is away (a restart) rather than failing at once.
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 20, enableOfflineQueue: true })
    this.redis.on('error', () => {})
    this.redis.defineCommand('chatAppend', { numberOfKeys: 4, lua: APPEND })
    this.redis.defineCommand('chatRead', { numberOfKeys: 2, lua: READ })
  }

  async connect(): Promise<void> {
    await this.redis.connect()
  }

  close(): void {
    this.redis.disconnect()
  }

  /** Creates the conversation if new and adds the members; returns the members added now. */
  async ensure(id: string, kind: 'dm' | 'group', title: string, members: string[]): Promise<string[]> {
    const pipeline = this.redis.multi().hsetnx(k.conv(id), 'kind', kind).hsetnx(k.conv(id), 'title', title).hsetnx(k.conv(id), 'seq', 0)
    for (const member of members) pipeline.sadd(k.members(id), member).sadd(k.convs(member), id)
    const results = (await pipeline.exec()) ?? []
    return members.filter((_, i) => results[3 + i * 2]?.[1] === 1)
  }

  async members(id: string): Promise<string[]> {
    return this.redis.smembers(k.members(id))
  }

  async isMember(id: string, user: string): Promise<boolean> {
    return (await this.redis.sismember(k.members(id), user)) === 1
  }

  /** Appends a message once per (sender, client id): `{ seq, duplicate }`, or undefined when the sender is not a member. */
  async append(conv: string, from: string, cid: string, body: { text?: string; file?: FileRef }, at = Date.now()): Promise<{ message: Message; duplicate: boolean } | undefined> {
    const stored = JSON.stringify({ from, at, ...body })
    const reply = (await (this.redis as unknown as { chatAppend(...args: unknown[]): Promise<[string, number?]> }).chatAppend(k.conv(conv), k.members(conv), k.log(conv), k.cids(from), from, cid, stored)) as [string, number?]
    if (reply[0] === 'not-member') return undefined
    const seq = Number(reply[1])
    if (reply[0] === 'dup') {
      const [entry] = await this.range(conv, seq - 1, 1)
      return { message: entry ?? { conv, seq, from, at, ...body }, duplicate: true }
    }
    return { message: { conv, seq, from, at, ...body }, duplicate: false }
  }

  /** Up to `limit` messages after `after`, in order. */
  async range(conv: string, after: number, limit: number): Promise<Message[]> {
    const entries = await this.redis.xrange(k.log(conv), `${after + 1}-0`, '+', 'COUNT', limit)
    return entries.map(([id, fields]) => ({ conv, seq: Number(id.split('-')[0]), ...(JSON.parse(fields[1]!) as Omit<Message, 'conv' | 'seq'>) }))
  }

  /** Up to `limit` messages before `before` (for a page's scroll-back), in order. */
  async before(conv: string, before: number, limit: number): Promise<Message[]> {
    if (before <= 1) return []
    const entries = await this.redis.xrevrange(k.log(conv), `${before - 1}-0`, '-', 'COUNT', limit)
    return entries.reverse().map(([id, fields]) => ({ conv, seq: Number(id.split('-')[0]), ...(JSON.parse(fields[1]!) as Omit<Message, 'conv' | 'seq'>) }))
  }

  async conversations(user: string): Promise<Conversation[]> {
    const ids = (await this.redis.smembers(k.convs(user))).sort()
    if (!ids.length) return []
    const pipeline = this.redis.pipeline()
    for (const id of ids) pipeline.hgetall(k.conv(id)).smembers(k.members(id)).hgetall(k.read(id))
    const results = (await pipeline.exec()) ?? []
    return ids.map((id, i) => {
      const meta = results[i * 3]![1] as Record<string, string>
      const reads: Record<string, number> = {}
      for (const [user, seq] of Object.entries(results[i * 3 + 2]![1] as Record<string, string>)) reads[user] = Number(seq)
      return { id, kind: meta.kind === 'group' ? 'group' : 'dm', title: meta.title ?? id, members: (results[i * 3 + 1]![1] as string[]).sort(), head: Number(meta.seq ?? 0), reads }
    })
  }

  /** Records that `user` read `conv` up to `seq` (never backwards, never past the head): the new value, or 0 when unchanged. */
  async markRead(conv: string, user: string, seq: number): Promise<number> {
    return Number(await (this.redis as unknown as { chatRead(...args: unknown[]): Promise<number> }).chatRead(k.conv(conv), k.read(conv), user, seq))
  }

  async putFile(meta: FileMeta): Promise<void> {
    await this.redis.hset(k.file(meta.id), { ...meta, size: String(meta.size) })
  }

  async file(id: string): Promise<FileMeta | undefined> {
    const raw = await this.redis.hgetall(k.file(id))
    if (!raw.id) return undefined
    return { id: raw.id, name: raw.name!, size: Number(raw.size), sha256: raw.sha256!, conv: raw.conv!, from: raw.from! }
  }
}
