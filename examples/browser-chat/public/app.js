// The page's whole client: the prebuilt bundle, one RPC to join, room events to chat.
import { createClient } from '/echostream.js'

const $ = (id) => document.getElementById(id)
const show = ({ from, text }) => {
  const p = document.createElement('p')
  p.innerHTML = '<span class="from"></span>: <span></span>'
  p.firstChild.textContent = from
  p.lastChild.textContent = text
  $('log').append(p)
  $('log').scrollTop = $('log').scrollHeight
}
const online = (names) => ($('online').textContent = `${names.length} online: ${names.join(', ')}`)

const { url } = await (await fetch('/config.json')).json()
const client = await createClient({ url })
client.events.on('chat.message', show)
client.events.on('chat.presence', ({ online: names }) => online(names))
client.reconnect.on('reconnecting', () => ($('status').textContent = 'reconnecting…'))
client.reconnect.on('reconnected', () => ($('status').textContent = 'connected'))
await client.start()
$('status').textContent = 'connected'

$('join').addEventListener('submit', async (event) => {
  event.preventDefault()
  try {
    const { history, online: names } = await client.rpc.request('chat.join', { name: $('name').value })
    history.forEach(show)
    online(names)
    $('join').hidden = true
    $('say').hidden = false
    $('status').textContent = `connected as ${$('name').value.trim()}`
    $('text').focus()
  } catch (error) {
    $('status').textContent = `${error.code}: ${error.message}`
  }
})
$('say').addEventListener('submit', (event) => {
  event.preventDefault()
  if ($('text').value.trim()) client.events.emit('chat.say', $('text').value)
  $('text').value = ''
})
window.chat = client
