// The devtools page: a browser client of echostream (the prebuilt bundle), authenticated by the
// token in the page URL's fragment (#token=…, never sent to any server but inside the hello).
// Every value shown comes from peers and is written with textContent, never as HTML.
import { createClient, definePlugin } from '/echostream.js'

const $ = (id) => document.getElementById(id)
const status = (text, cls = '') => {
  $('status').textContent = text
  $('status').className = cls
}

const fmt = {
  bytes(n) {
    if (n < 1024) return `${n} B`
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
    return `${(n / 1024 / 1024).toFixed(1)} MiB`
  },
  age(ms) {
    const s = Math.max(0, Math.round(ms / 1000))
    if (s < 60) return `${s}s`
    if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`
    return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
  },
  us(us) {
    const a = Math.abs(us)
    if (a < 1000) return `${us.toFixed(0)} µs`
    if (a < 1e6) return `${(us / 1000).toFixed(2)} ms`
    return `${(us / 1e6).toFixed(3)} s`
  },
  rate: (n) => (n >= 10 ? n.toFixed(0) : n.toFixed(1)),
  time: (at) => new Date(at).toLocaleTimeString(),
}

/** Replaces a table body's rows: one row per item, cells from `cells(item)` (strings or numbers). */
function fill(table, items, cells, empty) {
  const body = $(table).tBodies[0]
  const heads = [...$(table).tHead.rows[0].cells]
  const rows = items.map((item) => {
    const tr = document.createElement('tr')
    for (const [i, value] of cells(item).entries()) {
      const td = document.createElement('td')
      td.className = heads[i]?.className ?? ''
      td.textContent = String(value)
      tr.append(td)
    }
    if (item && item.id !== undefined && table === 'sessions') tr.dataset.session = item.id
    return tr
  })
  if (rows.length === 0) {
    const tr = document.createElement('tr')
    const td = document.createElement('td')
    td.colSpan = $(table).tHead.rows[0].cells.length
    td.className = 'empty'
    td.textContent = empty
    tr.append(td)
    rows.push(tr)
  }
  body.replaceChildren(...rows)
}

function render(s) {
  const srv = s.server
  $('server').textContent =
    `${srv.name ?? 'server'} ${srv.version} · kernel ${srv.kernelVersion} · pid ${srv.pid} · up ${fmt.age(srv.uptimeMs)} · ${srv.url}` +
    `${srv.draining ? ' · DRAINING' : ''} · plugins: ${srv.plugins.map((p) => `${p.name}@${p.version}`).join(', ')}`
  $('sessions-count').textContent = `${s.sessionsTotal} open${s.sessions.length < s.sessionsTotal ? `, newest ${s.sessions.length} shown` : ''}`
  fill('sessions', s.sessions, (x) => [
    x.id + (x.devtools ? ' (devtools)' : ''),
    x.peer,
    fmt.age(s.at - x.createdAt),
    x.calls,
    x.events,
    `${x.framesIn} / ${x.framesOut}`,
    `${fmt.bytes(x.bytesIn)} / ${fmt.bytes(x.bytesOut)}`,
    fmt.bytes(x.outboundBytes),
    x.rooms.join(', '),
    x.clock ? `${fmt.us(x.clock.offsetUs)} / ${fmt.us(x.clock.rttUs)}` : '—',
  ], 'no sessions')
  const r = s.rates
  $('rates').textContent = `${fmt.rate(r.callsPerSec)} calls/s · ${fmt.rate(r.eventsPerSec)} events/s · in ${fmt.bytes(r.bytesInPerSec)}/s · out ${fmt.bytes(r.bytesOutPerSec)}/s (last ${r.windowMs / 1000} s) · ${r.callsTotal} calls in all`
  fill('methods', r.methods, (m) => [m.method, m.calls, fmt.rate(m.perSec)], 'no calls yet')
  $('rooms-count').textContent = `${s.roomsTotal}`
  fill('rooms', s.rooms, (x) => [x.name, x.members, x.sessions.join(', ')], 'no rooms')
  $('streams-count').textContent = `${s.streamsTotal}`
  fill('streams', s.streams, (x) => [x.session, `${x.name} #${x.id}`, x.direction, x.state, fmt.bytes(x.offset), fmt.bytes(x.credit), fmt.bytes(x.window), fmt.bytes(x.queuedBytes), x.waitingFor ?? '—'], 'no open streams')
  const c = s.clock
  $('clock').textContent = !c.available
    ? 'clock-sync is not loaded on the server'
    : c.reporting === 0
      ? 'no client has reported its clock yet'
      : `${c.reporting} clients · offset min ${fmt.us(c.offsetUs.min)}, median ${fmt.us(c.offsetUs.median)}, max ${fmt.us(c.offsetUs.max)} · rtt min ${fmt.us(c.rttUs.min)}, median ${fmt.us(c.rttUs.median)}, max ${fmt.us(c.rttUs.max)}`
  $('errors-count').textContent = `${r.errorsTotal} in all`
  fill('errors', s.errors, (e) => [fmt.time(e.at), e.code, e.source, e.session ?? e.peer ?? '', e.message], 'no errors')
  $('main').hidden = false
}

function tokenPlugin(token) {
  return definePlugin({
    name: 'devtools',
    version: '1.0.0',
    kernel: '^1',
    setup(kernel) {
      kernel.hooks.hello.tap('devtools', (hello) => ({ ...hello, devtoolsToken: token }))
    },
  })
}

async function serverUrl() {
  const { url } = await (await fetch('/config.json')).json()
  const u = new URL(url)
  // A server listening on every address announces 0.0.0.0: reach it where the page came from.
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]') u.hostname = location.hostname
  return u.href.replace(/\/$/, '')
}

let retry
async function connect(token) {
  clearTimeout(retry)
  status('connecting…')
  const client = await createClient({ url: await serverUrl(), options: { reconnect: false }, plugins: [tokenPlugin(token)] })
  let live = false
  client.events.on('devtools.update', render)
  client.on('disconnect', (_session, info) => {
    if (!live) return // a refused handshake: start() rejects and failed() says why
    live = false
    status(`disconnected (${info?.code ?? '?'}): retrying…`, 'bad')
    retry = setTimeout(() => connect(token).catch(failed), 2000)
  })
  await client.start()
  live = true
  status('live', 'ok')
  render(await client.rpc.request('devtools.snapshot'))
  window.devtools = client
}

function failed(error) {
  const code = error?.code ?? 'E_UNKNOWN'
  status(`${code}: ${error?.message ?? error}`, 'bad')
  if (code === 'E_UNAUTHORIZED') {
    $('login').hidden = false
    return
  }
  retry = setTimeout(() => connect(currentToken()).catch(failed), 2000)
}

const currentToken = () => new URLSearchParams(location.hash.slice(1)).get('token') ?? ''

$('login').addEventListener('submit', (event) => {
  event.preventDefault()
  location.hash = `token=${encodeURIComponent($('token').value.trim())}`
  $('login').hidden = true
  connect(currentToken()).catch(failed)
})

if (currentToken()) connect(currentToken()).catch(failed)
else {
  status('a token is needed', 'bad')
  $('login').hidden = false
}
