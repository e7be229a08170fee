// The web client: the prebuilt bundle (/echostream-full.js: rpc, events, reconnect, streams), the
// page's link plugin (credentials, node URLs) and the chat logic it shares with the terminal.
import { createClient } from '/echostream-full.js'
import { chatLink } from '/link.js'
import { createChat } from '/chat-core.js'

const $ = (id) => document.getElementById(id)
const el = (tag, props = {}, ...children) => append(Object.assign(document.createElement(tag), props), children)
function append(node, children) {
  for (const child of children) node.append(child)
  return node
}
const status = (text) => ($('status').textContent = text)

const config = await (await fetch('/config.json')).json()
// ?node=N starts on the Nth node (the others are tried in turn on a reconnect).
const first = Number(new URLSearchParams(location.search).get('node') ?? 0) % config.urls.length
const urls = [...config.urls.slice(first), ...config.urls.slice(0, first)]
const TOKEN = 'chat.token'
let node = ''
const client = await createClient({
  url: urls[0],
  options: {
    'clock-sync': false,
    // Room to replay file chunks after a cut (the same bounds as the servers').
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000, maxQueuedBytes: 16 * 1024 * 1024, maxQueuedFrames: 20000, ackEveryFrames: 16, ackIntervalMs: 100 },
  },
  plugins: [
    chatLink({
      urls,
      credentials: () => {
        const token = sessionStorage.getItem(TOKEN)
        return token ? { token } : undefined
      },
      onNode: (id) => {
        node = id
        if (chat?.state.user) status(`${chat.state.user} on node ${node}`)
      },
    }),
  ],
})
const storage = {
  load: (user) => JSON.parse(localStorage.getItem(`chat.cursors.${user}`) ?? '{}'),
  save: (user, cursors) => localStorage.setItem(`chat.cursors.${user}`, JSON.stringify(cursors)),
}
const chat = createChat({ client, storage, setCredentials: ({ token }) => sessionStorage.setItem(TOKEN, token) })
window.chatLog = []
window.transfers = {}
window.chatApp = { client, chat }
client.reconnect.on('reconnecting', () => status('reconnecting…'))
client.reconnect.on('reconnected', () => status(`${chat.state.user} on node ${node}`))

const messages = new Map() // conv → Message[] in seq order (history and new)
let active = ''

// ------------------------------------------------------------------ rendering

function convLabel(conv) {
  if (conv.kind === 'group') return conv.title
  return conv.members.find((m) => m !== chat.state.user) ?? conv.title
}

function renderConvs() {
  const box = $('convs')
  box.replaceChildren()
  for (const conv of [...chat.state.convs.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const unread = (chat.state.cursors[conv.id] ?? 0) - (conv.reads[chat.state.user] ?? 0)
    const button = el('button', { className: `${conv.id === active ? 'active' : ''} ${unread > 0 && conv.id !== active ? 'unread' : ''}`, textContent: `${convLabel(conv)}${unread > 0 && conv.id !== active ? ` (${unread})` : ''}` })
    button.dataset.conv = conv.id
    button.onclick = () => open(conv.id)
    box.append(button)
  }
}

function renderPeople() {
  const list = $('people').firstElementChild
  list.replaceChildren()
  for (const user of chat.state.users ?? []) {
    const item = el('li', {}, el('span', { className: `dot ${chat.state.online.has(user) ? 'on' : ''}` }), user === chat.state.user ? `${user} (you)` : user)
    item.dataset.user = user
    item.dataset.online = String(chat.state.online.has(user))
    list.append(item)
  }
}

function line(message, old) {
  const p = el('p', { className: old ? 'old' : '' })
  p.dataset.seq = message.seq
  p.append(el('span', { className: 'from', textContent: message.from }), ': ')
  if (message.file) {
    const { file } = message
    const button = el('button', { textContent: `download ${file.name} (${(file.size / 1e6).toFixed(1)} MB)` })
    button.dataset.file = file.id
    button.onclick = () => download(file)
    p.append(button)
  } else p.append(message.text)
  return p
}

function renderLog() {
  const conv = chat.state.convs.get(active)
  if (!conv) return
  $('title').textContent = convLabel(conv)
  const log = $('log')
  log.replaceChildren(...(messages.get(active) ?? []).map((m) => line(m, m.old)))
  const readers = Object.entries(conv.reads).filter(([user, seq]) => user !== chat.state.user && seq > 0)
  if (readers.length) log.append(el('p', { className: 'receipt', textContent: `read: ${readers.map(([u, s]) => `${u} #${s}`).join(', ')}` }))
  log.scrollTop = log.scrollHeight
}

async function open(conv) {
  active = conv
  $('room').hidden = false
  const list = messages.get(conv) ?? []
  messages.set(conv, list)
  const first = list[0]?.seq ?? (chat.state.cursors[conv] ?? 0) + 1
  if (first > 1 && !list.historyLoaded) {
    list.historyLoaded = true
    const older = await chat.history(conv, first, 50)
    list.unshift(...older.map((m) => ({ ...m, old: true })))
  }
  renderConvs()
  renderLog()
  markRead()
  $('text').focus()
}

function markRead() {
  const seq = chat.state.cursors[active] ?? 0
  const conv = chat.state.convs.get(active)
  if (conv && seq > (conv.reads[chat.state.user] ?? 0) && document.visibilityState === 'visible') {
    conv.reads[chat.state.user] = seq
    chat.markRead(active, seq)
  }
}

function progressRow(key, label) {
  let row = document.querySelector(`[data-transfer="${key}"]`)
  if (!row) {
    row = el('div', { className: 'transfer' }, `${label} `, el('progress', { max: 1, value: 0 }), el('span'))
    row.dataset.transfer = key
    $('transfers').append(row)
  }
  return {
    set(done, size) {
      row.querySelector('progress').value = size ? done / size : 1
      row.querySelector('span').textContent = ` ${((done / Math.max(1, size)) * 100).toFixed(0)}% ${(done / 1e6).toFixed(1)}/${(size / 1e6).toFixed(1)} MB`
    },
    note(text) {
      row.querySelector('span').textContent += ` ${text}`
    },
  }
}

// ------------------------------------------------------------------ chat events

chat.on('message', (message) => {
  window.chatLog.push(message)
  if (!messages.has(message.conv)) messages.set(message.conv, [])
  messages.get(message.conv).push(message)
  if (!active && !$('side').hidden) return void open(message.conv)
  if (message.conv === active) {
    renderLog()
    markRead()
  }
  renderConvs()
})
chat.on('conv', () => renderConvs())
chat.on('download-resume', ({ fileId, offset }) => {
  if (window.transfers[fileId]) window.transfers[fileId].resumedAt = offset
  document.querySelector(`[data-transfer="down-${fileId}"] span`)?.append(` (resumed at ${(offset / 1e6).toFixed(1)} MB)`)
})
chat.on('online', () => renderPeople())
chat.on('presence', () => renderPeople())
chat.on('read', ({ conv }) => conv === active && renderLog())
let typingTimer
chat.on('typing', ({ conv, user }) => {
  if (conv !== active) return
  $('typing').textContent = `${user} is typing…`
  clearTimeout(typingTimer)
  typingTimer = setTimeout(() => ($('typing').textContent = ''), 3000)
})
document.addEventListener('visibilitychange', markRead)

// ------------------------------------------------------------------ files

async function sha256Hex(data) {
  const digest = await crypto.subtle.digest('SHA-256', data)
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

async function upload(file) {
  const key = `up-${Date.now()}`
  const bar = progressRow(key, `sending ${file.name}`)
  const sha256 = await sha256Hex(await file.arrayBuffer())
  window.transfers[key] = { dir: 'up', name: file.name, size: file.size, done: 0 }
  const source = { name: file.name, size: file.size, sha256, read: async (offset, length) => new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()) }
  const { fileId } = await chat.upload(active, source, (done, size) => {
    window.transfers[key].done = done
    bar.set(done, size)
  })
  window.transfers[key].fileId = fileId
  bar.note('sent ✓')
}

async function download(file) {
  const bar = progressRow(`down-${file.id}`, `receiving ${file.name}`)
  const t = (window.transfers[file.id] = { dir: 'down', name: file.name, size: file.size, done: 0 })
  const chunks = []
  await chat.download(file, { write: (chunk) => void chunks.push(chunk) }, (done, size) => {
    t.done = done
    bar.set(done, size)
  })
  const blob = new Blob(chunks)
  t.sha256 = await sha256Hex(await blob.arrayBuffer())
  t.ok = t.sha256 === file.sha256
  bar.note(t.ok ? 'sha256 verified ✓' : 'sha256 MISMATCH')
  const link = el('a', { href: URL.createObjectURL(blob), download: file.name, textContent: ' save' })
  document.querySelector(`[data-transfer="down-${file.id}"]`).append(link)
}

// ------------------------------------------------------------------ forms

async function enter() {
  await chat.start()
  $('login').hidden = true
  $('side').hidden = false
  status(`${chat.state.user} on node ${node}`)
  renderConvs()
  renderPeople()
  const first = [...chat.state.convs.keys()].sort()[0]
  if (first) await open(first)
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault()
  try {
    await chat.login($('user').value.trim(), $('password').value)
    await enter()
  } catch (error) {
    status(`${error.code ?? ''}: ${error.message}`)
  }
})
$('say').addEventListener('submit', async (event) => {
  event.preventDefault()
  const text = $('text').value.trim()
  const file = $('file').files[0]
  $('text').value = ''
  $('file').value = ''
  try {
    if (text) await chat.send(active, text)
    if (file) await upload(file)
  } catch (error) {
    status(`${error.code ?? ''}: ${error.message}`)
  }
})
$('text').addEventListener('input', () => active && chat.typing(active))
$('newdm').addEventListener('submit', async (event) => {
  event.preventDefault()
  const to = $('dmto').value.trim()
  $('dmto').value = ''
  try {
    const [a, b] = [chat.state.user, to].sort()
    const conv = `dm:${a}:${b}`
    if (!chat.state.convs.has(conv)) await chat.send(to, `hi ${to}`)
    await chat.sync()
    await open(conv)
  } catch (error) {
    status(`${error.code ?? ''}: ${error.message}`)
  }
})
$('newgroup').addEventListener('submit', async (event) => {
  event.preventDefault()
  const name = $('groupname').value.trim()
  $('groupname').value = ''
  try {
    await open(await chat.joinGroup(name))
  } catch (error) {
    status(`${error.code ?? ''}: ${error.message}`)
  }
})

try {
  await client.start()
  if (sessionStorage.getItem(TOKEN)) await enter() // logged in at the handshake, with the token
  else status('log in')
} catch (error) {
  if (error.code === 'E_UNAUTHORIZED') {
    sessionStorage.removeItem(TOKEN) // expired or from another secret: log in again
    location.reload()
  } else status(`${error.code ?? ''}: ${error.message}`)
}
window.chatReady = true
