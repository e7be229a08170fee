// The chat's client logic, shared by the web page (with the prebuilt browser bundle) and the
// terminal client (with the Node packages): plain JavaScript so the page loads it as it is.
//
// Delivery: every conversation numbers its messages 1, 2, 3…; this device keeps the last number
// it delivered per conversation (its cursor, in `storage`). A message is delivered only when it is
// the next one: a repeat is dropped, a message after a gap is held and the gap fetched
// (`chat.sync`). So whatever the network, the node deaths and the retries did, each message is
// shown once, in order — and after a restart of anything, `chat.sync` brings what was missed.

const RETRYABLE = new Set(['E_CLOSED', 'E_TIMEOUT', 'E_INTERRUPTED', 'E_NODE_LOST', 'E_SESSION_OFFLINE', 'E_BROKER_DOWN', 'E_CANCELLED'])
const CHUNK = 32 * 1024
const STALL_MS = 4000

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * @param {object} o
 * @param {any} o.client            an echostream client (rpc, events, streams, reconnect)
 * @param {{ load(user: string): Record<string, number>, save(user: string, cursors: Record<string, number>): void }} o.storage
 * @param {(credentials: unknown) => void} o.setCredentials   what the next handshake sends (reconnects, other nodes)
 */
export function createChat({ client, storage, setCredentials }) {
  const listeners = new Map()
  const emit = (event, data) => {
    for (const fn of listeners.get(event) ?? []) {
      try {
        fn(data)
      } catch (error) {
        console.error(`chat '${event}' listener failed`, error)
      }
    }
  }
  const state = {
    user: '',
    /** @type {Map<string, any>} */
    convs: new Map(),
    /** @type {Record<string, number>} */
    cursors: {},
    online: new Set(),
    duplicatesDropped: 0,
  }
  /** @type {Map<string, Map<number, any>>} messages that came after a gap, held until it is filled */
  const held = new Map()
  let syncing = null
  let syncAgain = false
  const uploads = new Map()
  const downloads = new Map()

  async function call(method, params, timeoutMs = 10_000) {
    return client.rpc.request(method, params, { timeoutMs })
  }

  /** Waits for an open session (after a cut the client reconnects by itself). */
  async function connected(timeoutMs = 30_000) {
    const until = Date.now() + timeoutMs
    while (client.session?.state !== 'open') {
      if (Date.now() > until) throw Object.assign(new Error('not connected'), { code: 'E_CLOSED' })
      await sleep(50)
    }
  }

  /** Calls again on errors that say "try again" (node died, connection cut): for idempotent calls only. */
  async function retrying(method, params, attempts = 30) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(method, params)
      } catch (error) {
        if (!RETRYABLE.has(error?.code) || attempt >= attempts) throw error
        await sleep(Math.min(1000, 100 * attempt))
        await connected().catch(() => {})
      }
    }
  }

  function deliver(message) {
    state.cursors[message.conv] = message.seq
    storage.save(state.user, state.cursors)
    emit('message', message)
  }

  function onMessage(message) {
    if (!message || typeof message.conv !== 'string' || !Number.isSafeInteger(message.seq)) return
    const have = state.cursors[message.conv] ?? 0
    if (message.seq <= have) {
      state.duplicatesDropped++
      return
    }
    if (message.seq !== have + 1) {
      if (!held.has(message.conv)) held.set(message.conv, new Map())
      held.get(message.conv).set(message.seq, message)
      void sync()
      return
    }
    deliver(message)
    const waiting = held.get(message.conv)
    while (waiting?.has((state.cursors[message.conv] ?? 0) + 1)) {
      const next = (state.cursors[message.conv] ?? 0) + 1
      const m = waiting.get(next)
      waiting.delete(next)
      deliver(m)
    }
    if (waiting) for (const seq of waiting.keys()) if (seq <= state.cursors[message.conv]) waiting.delete(seq)
  }

  /** Fetches everything after this device's cursors (one at a time; asked again while running: once more after). */
  function sync() {
    if (syncing) {
      syncAgain = true
      return syncing
    }
    syncing = (async () => {
      try {
        do {
          syncAgain = false
          const result = await retrying('chat.sync', { cursors: state.cursors })
          state.online = new Set(result.online)
          for (const conv of result.convs) {
            const known = state.convs.has(conv.id)
            state.convs.set(conv.id, conv)
            if (!known) emit('conv', conv)
          }
          emit('online', [...state.online])
          for (const message of result.messages) onMessage(message)
          if (result.more) syncAgain = true
        } while (syncAgain)
      } finally {
        syncing = null
      }
    })()
    return syncing
  }

  client.events.on('chat.msg', onMessage)
  client.events.on('chat.conv', () => void sync().catch((e) => emit('error', e)))
  client.events.on('chat.presence', ({ user, online }) => {
    if (online) state.online.add(user)
    else state.online.delete(user)
    emit('presence', { user, online })
  })
  client.events.on('chat.typing', (data) => {
    if (data.user !== state.user) emit('typing', data)
  })
  client.events.on('chat.read', (data) => {
    const conv = state.convs.get(data.conv)
    if (conv) conv.reads[data.user] = Math.max(conv.reads[data.user] ?? 0, data.seq)
    emit('read', data)
  })
  client.events.on('chat.file.ack', (data) => uploads.get(data.fileId)?.(data))
  client.streams.handle('chat.download', async (stream, ctx) => {
    const download = downloads.get(ctx.meta?.fileId)
    if (!download || ctx.meta.offset !== download.received) return stream.cancel('E_CANCELLED', 'not expected at this offset')
    await download.take(stream)
  })
  // After any reconnect (resumed here, on another node, or a new session): fetch what was missed.
  client.reconnect.on('reconnected', () => void sync().catch((e) => emit('error', e)))

  let typingAt = 0
  const chat = {
    state,
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, new Set())
      listeners.get(event).add(fn)
      return () => listeners.get(event)?.delete(fn)
    },
    /** A login by call (a web form): the session is logged in, and later handshakes send the token. */
    async login(user, password) {
      const result = await call('chat.login', { user, password })
      setCredentials({ token: result.token })
      return result
    },
    /** After the session is logged in (by handshake or `login`): loads this device's cursors and syncs. */
    async start() {
      const { users, online, me } = await call('chat.who', null)
      state.users = users
      state.online = new Set(online)
      state.user = me
      state.cursors = { ...(storage.load(me) ?? {}) }
      await sync()
      return state
    },
    sync,
    /** Sends once, however many times it has to be tried (same client id every attempt). */
    async send(target, text) {
      const cid = randomId()
      const params = target.startsWith('dm:') || target.startsWith('g:') ? { conv: target, text, cid } : { to: target, text, cid }
      return retrying('chat.send', params)
    },
    async joinGroup(name) {
      const { conv } = await retrying('chat.group.join', { name })
      await sync()
      return conv
    },
    history: (conv, before, limit = 50) => call('chat.history', { conv, before, limit }),
    who: () => call('chat.who', null),
    typing(conv) {
      if (Date.now() - typingAt < 1500) return
      typingAt = Date.now()
      client.events.emit('chat.typing', { conv })
    },
    markRead(conv, seq) {
      client.events.emit('chat.read', { conv, seq })
    },

    /**
     * Uploads `file` ({ name, size, sha256, read(offset, length) → Promise<Uint8Array> }) to a
     * conversation or user. After a cut it asks where the server's copy ends (the last acknowledged
     * offset, `chat.file.status`) and goes on from there. `onProgress(acked, size)`.
     * @param {string} target
     * @param {{ name: string, size: number, sha256: string, read(offset: number, length: number): Promise<Uint8Array> }} file
     * @param {(done: number, size: number) => void} [onProgress]
     */
    async upload(target, file, onProgress = () => {}) {
      const where = target.startsWith('dm:') || target.startsWith('g:') ? { conv: target } : { to: target }
      const { fileId } = await retrying('chat.file.begin', { ...where, name: file.name, size: file.size, sha256: file.sha256 })
      let acked = 0
      let lastNews = Date.now()
      let done = false
      uploads.set(fileId, (ack) => {
        acked = Math.max(acked, ack.offset)
        lastNews = Date.now()
        if (ack.done) done = true
        onProgress(acked, file.size)
      })
      try {
        for (let attempt = 0; !done; attempt++) {
          await connected()
          const status = await retrying('chat.file.status', { fileId })
          if (status.done) break
          acked = status.offset
          if (attempt > 0) emit('upload-resume', { fileId, offset: status.offset })
          onProgress(acked, file.size)
          let writer
          let watchdog
          try {
            writer = await client.streams.open('chat.upload', { fileId, offset: status.offset })
            lastNews = Date.now()
            // A stream whose node died is silent on the new node: give it up when nothing moves.
            watchdog = setInterval(() => {
              if (Date.now() - lastNews > STALL_MS && writer.state !== 'ended') writer.abort('E_TIMEOUT', 'the upload stalled')
            }, 500)
            for (let offset = status.offset; offset < file.size; ) {
              const chunk = await file.read(offset, Math.min(CHUNK, file.size - offset))
              await writer.write(chunk)
              offset += chunk.length
            }
            await writer.end()
            while (!done && Date.now() - lastNews < STALL_MS && writer.state !== 'aborted') await sleep(50)
          } catch (error) {
            if (error?.code && !RETRYABLE.has(error.code) && error.code !== 'E_OFFSET' && error.code !== 'E_FLOW_CONTROL' && error.code !== 'E_NO_HANDLER') throw error
            await sleep(200)
          } finally {
            clearInterval(watchdog)
            if (writer && writer.state === 'open') writer.abort('E_CANCELLED')
          }
        }
        onProgress(file.size, file.size)
        return { fileId }
      } finally {
        uploads.delete(fileId)
      }
    },

    /**
     * Downloads a file message's file into `sink` ({ write(chunk) }): after a cut it asks again
     * from the bytes it has. `onProgress(received, size)`. Resolves once every byte arrived.
     * @param {{ id: string, size: number }} file
     * @param {{ write(chunk: Uint8Array): unknown }} sink
     * @param {(done: number, size: number) => void} [onProgress]
     */
    async download(file, sink, onProgress = () => {}) {
      const download = { received: 0, lastNews: Date.now(), finished: false, failed: null, current: null }
      download.take = async (stream) => {
        if (download.current && download.current.state === 'open') download.current.cancel('E_CANCELLED', 'superseded')
        download.current = stream
        try {
          for await (const frame of stream) {
            if (download.current !== stream) return
            await sink.write(frame.data)
            download.received += frame.data.length
            download.lastNews = Date.now()
            onProgress(download.received, file.size)
          }
          if (download.received === file.size) download.finished = true
        } catch (error) {
          if (download.current === stream) download.failed = error
        }
      }
      downloads.set(file.id, download)
      try {
        while (!download.finished) {
          await connected()
          download.failed = null
          download.lastNews = Date.now()
          if (download.received > 0) emit('download-resume', { fileId: file.id, offset: download.received })
          await retrying('chat.file.get', { fileId: file.id, offset: download.received })
          while (!download.finished && !download.failed && Date.now() - download.lastNews < STALL_MS) await sleep(50)
          if (!download.finished && download.current?.state === 'open') download.current.cancel('E_CANCELLED', 'stalled: asking again')
          download.current = null
          if (download.failed && !RETRYABLE.has(download.failed.code)) throw download.failed
        }
        return { size: download.received }
      } finally {
        downloads.delete(file.id)
      }
    },
  }
  return chat
}
