import { defineEvent } from '@echostream/kernel'
import type {} from '@echostream/preset-default'

/** A client joins the lobby: the server asks the client who it is (server → client RPC), then tells everyone. */
export const join = defineEvent<{ room: string }>('chat.join', async ({ room }, session) => {
  session.join(room)
  const who = (await session.request('client.whoami', undefined, { timeoutMs: 2000 })) as { name: string }
  session.data.set('name', who.name)
  session.kernel.events.to(room).emit('chat.joined', { room, name: who.name })
})

/** A chat line goes to everyone in the room, stamped with the sender's name. */
export const say = defineEvent<{ room: string; text: string }>('chat.say', ({ room, text }, session) => {
  session.kernel.events.to(room).emit('chat.message', { room, from: session.data.get('name') ?? session.id, text })
})
