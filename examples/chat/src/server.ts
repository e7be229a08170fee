/**
 * One chat node: echostream's cluster preset (WebSocket, MessagePack, RPC, events, reconnect,
 * cluster on Redis) plus auth and streams, and the chat on top — public API only. Any number of
 * nodes share one Redis (messages, presence, rooms) and one data folder (uploaded files).
 *
 * The calls (all need a logged-in session except `chat.login`):
 *   chat.login { user, password }            → { user, token }     login by call (web form)
 *   chat.sync { cursors: { conv: seq } }     → { user, convs, messages, more, online }
 *   chat.send { conv | to, text, cid }       → { conv, seq }       once per cid, however often retried
 *   chat.group.join { name }                 → { conv }
 *   chat.history { conv, before, limit }     → Message[]           scroll-back for a page
 *   chat.who                                 → { me, users, online }
 *   chat.file.begin { conv|to, name, size, sha256 } → { fileId }
 *   chat.file.status { fileId }              → { offset, done }    the acknowledged offset to resume at
 *   chat.file.get { fileId, offset }         → { size }            opens stream 'chat.download' to the caller
 *   stream 'chat.upload' meta { fileId, offset }
 * Events from clients: chat.typing { conv }, chat.read { conv, seq }.
 * Events to clients: chat.msg (a Message), chat.conv { conv }, chat.typing { conv, user },
 *   chat.read { conv, user, seq }, chat.presence { user, online }, chat.file.ack { fileId, offset, done? }.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync } from 'node:fs'
import { open, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { createServer, type Session } from '@echostream/kernel'
import presetCluster from '@echostream/preset-cluster'
import auth from '@echostream/plugin-auth'
import streams, { type StreamReader } from '@echostream/plugin-streams'
import { ChatStore, dmId, type FileMeta, type Message } from './store.js'
import { Accounts, chatErrors, DEMO_USERS, type Identity } from './users.js'

export interface ChatNodeOptions {
  /** The Redis every node shares (messages, cluster state). */
  redisUrl: string
  /** Folder for uploaded files, shared by every node. */
  dataDir: string
  /** Signs login tokens; every node needs the same one. */
  secret: string
  nodeId?: string
  port?: number
  host?: string
  /** user → password (hashed at start). */
  users?: Record<string, string>
  /** Cluster liveness: how often a node refreshes its presence, and when a silent node counts as dead. */
  heartbeatMs?: number
  nodeTtlMs?: number
  /** How long a lost session is kept for a resume. */
  graceMs?: number
}

const KiB = 1024
const MiB = 1024 * KiB
const CHUNK = 32 * KiB
const ACK_EVERY = 256 * KiB
const SYNC_LIMIT = 500
const MAX_FILE = 1024 * MiB
/** Resumable sessions replay what the peer missed; file chunks need room for it (see README). */
export const RECONNECT = { maxQueuedBytes: 16 * MiB, maxQueuedFrames: 20_000, ackEveryFrames: 16, ackIntervalMs: 100 }

const room = (conv: string) => `c:${conv}`
const str = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max

export async function createChatNode(options: ChatNodeOptions) {
  const nodeId = options.nodeId ?? randomBytes(3).toString('hex')
  const accounts = new Accounts(options.users ?? DEMO_USERS, options.secret)
  const store = new ChatStore(options.redisUrl)
  const filesDir = join(options.dataDir, 'files')
  mkdirSync(filesDir, { recursive: true })

  const server = await createServer({
    preset: presetCluster,
    plugins: [auth, streams],
    options: {
      'transport-ws': { port: options.port ?? 0, host: options.host ?? '127.0.0.1' },
      // Presence says who is connected now: a lost connection is offline at once, not after the grace.
      cluster: { redisUrl: options.redisUrl, nodeId, heartbeatMs: options.heartbeatMs ?? 500, nodeTtlMs: options.nodeTtlMs ?? 2000, presenceWhileSuspended: false },
      reconnect: { graceMs: options.graceMs ?? 60_000, ...RECONNECT },
      auth: {
        required: false,
        authenticate: accounts.authenticate,
        // An anonymous session (a page before its login form) may only log in.
        authorize: (action: { kind: string; name: string }, session: Session) => session.data.get('auth') !== undefined || (action.kind === 'rpc' && action.name === 'chat.login'),
      },
    },
  })

  const userOf = (session: Session): string => (session.data.get('auth') as Identity).id

  /** Binds a session to its user: routing (`cluster.user`) and presence carry the user from now on. */
  function bind(session: Session): void {
    const identity = session.data.get('auth') as Identity | undefined
    if (identity) server.cluster.bindUser(session, identity.id)
  }
  server.on('connect', bind)

  server.rpc.handle('chat.login', async (params: { user?: unknown; password?: unknown }, ctx: { session: Session }) => {
    const identity = (await server.auth.login(ctx.session, { user: params?.user, password: params?.password })) as Identity
    bind(ctx.session)
    return { user: identity.id, token: accounts.issue(identity.id) }
  })

  async function onlineUsers(): Promise<string[]> {
    const members = await server.cluster.online()
    return [...new Set(members.map((m) => m.user).filter((u): u is string => !!u))].sort()
  }

  server.rpc.handle('chat.who', async (_: unknown, ctx: { session: Session }) => ({ me: userOf(ctx.session), users: accounts.names(), online: await onlineUsers() }))

  /**
   * Everything after the device's cursors, and the session joins the rooms of all its
   * conversations first: a message appended after the read below reaches it live, one appended
   * before is in the read. The client drops what it already has by seq.
   */
  server.rpc.handle('chat.sync', async (params: { cursors?: Record<string, number> }, ctx: { session: Session }) => {
    const user = userOf(ctx.session)
    const cursors = params?.cursors && typeof params.cursors === 'object' ? params.cursors : {}
    const convs = await store.conversations(user)
    for (const conv of convs) ctx.session.join(room(conv.id))
    const messages: Message[] = []
    let more = false
    for (const conv of convs) {
      const after = Number.isSafeInteger(cursors[conv.id]) ? Math.max(0, cursors[conv.id]!) : 0
      if (after >= conv.head) continue
      const batch = await store.range(conv.id, after, SYNC_LIMIT)
      if (after + batch.length < conv.head) more = true
      messages.push(...batch)
    }
    return { user, convs, messages, more, online: await onlineUsers() }
  })

  /** The conversation a call names: `conv`, or a direct one with `to` (created on first use). */
  async function resolveConv(user: string, params: { conv?: unknown; to?: unknown }): Promise<string> {
    if (str(params?.to, 64)) {
      if (!accounts.exists(params.to)) throw chatErrors.noSuchUser(params.to)
      const conv = dmId(user, params.to)
      const added = await store.ensure(conv, 'dm', [user, params.to].sort().join(' & '), [user, params.to])
      for (const member of added) void server.cluster.user(member).emit('chat.conv', { conv }).catch(() => {})
      return conv
    }
    if (!str(params?.conv, 128)) throw chatErrors.badInput("Name the conversation ('conv') or the user ('to')")
    if (!(await store.isMember(params.conv, user))) throw chatErrors.notMember(params.conv)
    return params.conv
  }

  function publish(message: Message): void {
    server.events.to(room(message.conv)).emit('chat.msg', message)
  }

  server.rpc.handle('chat.send', async (params: { conv?: unknown; to?: unknown; text?: unknown; cid?: unknown }, ctx: { session: Session }) => {
    const user = userOf(ctx.session)
    if (!str(params?.text, 4000)) throw chatErrors.badInput('A message needs a text of 1 to 4000 characters')
    if (!str(params?.cid, 64)) throw chatErrors.badInput("A message needs a client id ('cid') that stays the same when it is sent again")
    const conv = await resolveConv(user, params)
    const result = await store.append(conv, user, params.cid, { text: params.text })
    if (!result) throw chatErrors.notMember(conv)
    // A resend (the first attempt was stored, its answer lost) is not published again.
    if (!result.duplicate) publish(result.message)
    return { conv, seq: result.message.seq }
  })

  server.rpc.handle('chat.group.join', async (params: { name?: unknown }, ctx: { session: Session }) => {
    if (!str(params?.name, 64) || !/^[\w.-]+$/.test(params.name)) throw chatErrors.badInput('A group name is 1 to 64 letters, digits, _ . -')
    const user = userOf(ctx.session)
    const conv = `g:${params.name}`
    const added = await store.ensure(conv, 'group', `#${params.name}`, [user])
    if (added.length) void server.cluster.user(user).emit('chat.conv', { conv }).catch(() => {})
    ctx.session.join(room(conv))
    return { conv }
  })

  server.rpc.handle('chat.history', async (params: { conv?: unknown; before?: unknown; limit?: unknown }, ctx: { session: Session }) => {
    const conv = await resolveConv(userOf(ctx.session), { conv: params?.conv })
    const limit = Number.isSafeInteger(params?.limit) ? Math.min(200, Math.max(1, params.limit as number)) : 50
    return store.before(conv, Number.isSafeInteger(params?.before) ? (params.before as number) : Number.MAX_SAFE_INTEGER, limit)
  })

  // One typing notice per session and second at most: a peer cannot make the room's fan-out a flood.
  const typedAt = new WeakMap<Session, number>()
  server.events.on('chat.typing', (data: { conv?: unknown }, session: Session) => {
    const conv = data?.conv
    if (!str(conv, 128) || !session.rooms().includes(room(conv))) return
    if (Date.now() - (typedAt.get(session) ?? 0) < 1000) return
    typedAt.set(session, Date.now())
    server.events.to(room(conv)).emit('chat.typing', { conv, user: userOf(session) })
  })

  server.events.on('chat.read', (data: { conv?: unknown; seq?: unknown }, session: Session) => {
    const conv = data?.conv
    if (!str(conv, 128) || !Number.isSafeInteger(data.seq) || !session.rooms().includes(room(conv))) return
    const user = userOf(session)
    void store.markRead(conv, user, data.seq as number).then(
      (seq) => {
        if (seq > 0) server.events.to(room(conv)).emit('chat.read', { conv, user, seq })
      },
      (error: Error) => server.logger.warn(`chat.read: ${error.message}`),
    )
  })

  // ------------------------------------------------------------------ presence

  /**
   * A user is online while one of their sessions is (any node, any device). Every node hears each
   * presence change once (the cluster's control channel) and tells its own sessions.
   */
  server.cluster.on('presence', (change) => {
    if (change.room !== '' || !change.user) return
    const user = change.user
    void server.cluster.online().then(
      (members) => {
        const online = members.some((m) => m.user === user)
        for (const session of server.sessions()) {
          if (session.state === 'open' && session.data.get('auth') !== undefined) session.emit('chat.presence', { user, online })
        }
      },
      () => {},
    )
  })

  // ------------------------------------------------------------------ files

  const partOf = (id: string) => join(filesDir, `${id}.part`)
  const fileOf = (id: string) => join(filesDir, id)
  const sizeOf = (path: string) => stat(path).then((s) => s.size, () => -1)
  const finishing = new Map<string, Promise<Message>>()
  const uploading = new Set<string>()

  server.rpc.handle('chat.file.begin', async (params: { conv?: unknown; to?: unknown; name?: unknown; size?: unknown; sha256?: unknown }, ctx: { session: Session }) => {
    const user = userOf(ctx.session)
    if (!str(params?.name, 255) || !Number.isSafeInteger(params.size) || (params.size as number) < 0 || (params.size as number) > MAX_FILE || !str(params.sha256, 64) || !/^[0-9a-f]{64}$/.test(params.sha256)) {
      throw chatErrors.badInput(`A file needs a name, a size in bytes (at most ${MAX_FILE}) and its sha256 (64 hex digits)`)
    }
    const conv = await resolveConv(user, params)
    const fileId = randomBytes(12).toString('hex')
    await store.putFile({ id: fileId, name: params.name.replace(/[/\\]/g, '_'), size: params.size as number, sha256: params.sha256, conv, from: user })
    const handle = await open(partOf(fileId), 'w')
    await handle.close()
    return { fileId, conv }
  })

  async function ownFile(fileId: unknown, user: string, as: 'owner' | 'member'): Promise<FileMeta> {
    const meta = str(fileId, 64) ? await store.file(fileId) : undefined
    if (!meta || (as === 'owner' ? meta.from !== user : !(await store.isMember(meta.conv, user)))) throw chatErrors.noSuchFile(String(fileId))
    return meta
  }

  server.rpc.handle('chat.file.status', async (params: { fileId?: unknown }, ctx: { session: Session }) => {
    const meta = await ownFile(params?.fileId, userOf(ctx.session), 'owner')
    if ((await sizeOf(fileOf(meta.id))) === meta.size) return { offset: meta.size, done: true }
    const part = await sizeOf(partOf(meta.id))
    // The part holds exactly the bytes written (each chunk is one write): that is the resume point.
    return { offset: Math.max(0, part), done: false }
  })

  /** Checks the sha256, makes the file final and posts it to its conversation (once, whichever node or call gets here). */
  function finish(meta: FileMeta): Promise<Message> {
    let pending = finishing.get(meta.id)
    if (!pending) {
      pending = (async () => {
        if ((await sizeOf(fileOf(meta.id))) !== meta.size) {
          const hash = createHash('sha256')
          for await (const chunk of createReadStream(partOf(meta.id))) hash.update(chunk as Buffer)
          if (hash.digest('hex') !== meta.sha256) {
            await unlink(partOf(meta.id)).catch(() => {})
            throw chatErrors.checksum(meta.id)
          }
          await rename(partOf(meta.id), fileOf(meta.id))
        }
        const result = await store.append(meta.conv, meta.from, `file:${meta.id}`, { file: { id: meta.id, name: meta.name, size: meta.size, sha256: meta.sha256 } })
        if (!result) throw chatErrors.notMember(meta.conv)
        if (!result.duplicate) publish(result.message)
        return result.message
      })().finally(() => finishing.delete(meta.id))
      finishing.set(meta.id, pending)
    }
    return pending
  }

  server.streams.handle(
    'chat.upload',
    async (stream: StreamReader<Buffer>, ctx: { session: Session; meta: { fileId: string; offset: number } }) => {
      const { session } = ctx
      const meta = await ownFile(ctx.meta.fileId, userOf(session), 'owner')
      const part = partOf(meta.id)
      // One writer per file on this node (a second stream would interleave its chunks).
      if (uploading.has(meta.id)) throw chatErrors.offset(ctx.meta.offset, Math.max(0, await sizeOf(part)))
      const have = await sizeOf(part)
      if (have !== ctx.meta.offset) throw chatErrors.offset(ctx.meta.offset, Math.max(0, have))
      uploading.add(meta.id)
      const handle = await open(part, 'a').catch((error: Error) => {
        uploading.delete(meta.id)
        throw error
      })
      let offset = have
      let acked = offset
      const ack = (done?: boolean) => {
        acked = offset
        if (session.state !== 'closed') session.emit('chat.file.ack', done ? { fileId: meta.id, offset, done } : { fileId: meta.id, offset })
      }
      try {
        for await (const frame of stream) {
          const data = frame.data
          if (!(data instanceof Uint8Array) || offset + data.length > meta.size) throw chatErrors.badInput(`Upload '${meta.id}' got more than its ${meta.size} bytes`)
          await handle.write(data)
          offset += data.length
          if (offset - acked >= ACK_EVERY) ack()
        }
      } finally {
        uploading.delete(meta.id)
        await handle.close()
      }
      if (offset !== meta.size) return ack()
      await finish(meta)
      ack(true)
    },
    { meta: { type: 'object', properties: { fileId: { type: 'string', maxLength: 64 }, offset: { type: 'integer', minimum: 0 } }, required: ['fileId', 'offset'], additionalProperties: false } },
  )

  server.rpc.handle('chat.file.get', async (params: { fileId?: unknown; offset?: unknown }, ctx: { session: Session }) => {
    const meta = await ownFile(params?.fileId, userOf(ctx.session), 'member')
    if ((await sizeOf(fileOf(meta.id))) !== meta.size) throw chatErrors.noSuchFile(meta.id)
    const offset = Number.isSafeInteger(params.offset) ? Math.min(meta.size, Math.max(0, params.offset as number)) : 0
    const writer = await ctx.session.openStream<Buffer>('chat.download', { fileId: meta.id, offset, size: meta.size })
    void (async () => {
      try {
        for await (const chunk of createReadStream(fileOf(meta.id), { start: offset, highWaterMark: CHUNK })) await writer.write(chunk as Buffer)
        await writer.end()
      } catch {
        // the client asks again from what it has (its own acknowledged offset)
        if (writer.state === 'open') writer.abort('E_CLOSED', 'the download was interrupted: ask again from your offset')
      }
    })()
    return { size: meta.size, offset }
  })

  server.on('stop', () => store.close())

  return {
    server,
    nodeId,
    store,
    async start(): Promise<string> {
      await store.connect()
      await server.start()
      return server.url!
    },
    stop: () => server.stop(),
  }
}
