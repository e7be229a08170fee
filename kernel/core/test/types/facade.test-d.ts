/**
 * Type tests (checked by `pnpm test`'s typecheck over tsconfig.tests.json; every `@ts-expect-error`
 * below fails the build if the line it guards type-checks): the application's `EchoServer` /
 * `EchoClient` show the app surface and the plugins' APIs, and hide the plumbing plugins get.
 */
import { createClient, createServer, kernelOf, type EchoClient, type EchoServer, type Session } from '@echostream/kernel'

declare module '@echostream/kernel' {
  interface KernelApi {
    greeter: { hello(name: string): string }
  }
}
declare module '@echostream/kernel' {
  interface AppData {
    visits: number
  }
}

export async function facade(): Promise<void> {
  const server: EchoServer = await createServer({})
  const client: EchoClient = await createClient({ url: 'ws://127.0.0.1:1' })

  // The application surface and the plugins' APIs.
  await server.start()
  const off: () => void = server.on('connect', (session: Session) => void session.id)
  off()
  server.on('disconnect', async (session, info) => void [session.id, info.code satisfies number])
  server.on('listening', (url) => void (url satisfies string))
  server.on('error', (error, context) => void [error.code, context.source])
  server.data.set('visits', 1)
  const visits: number | undefined = server.data.get('visits')
  const sessions: Session[] = server.sessions()
  const greeting: string = server.greeter.hello('you')
  const url: string | undefined = server.url
  const mine: Session | undefined = client.session
  void [visits, sessions, greeting, url, mine]

  // @ts-expect-error the store is typed by AppData
  server.data.set('visits', 'one')
  // @ts-expect-error listeners are typed per event
  server.on('connect', (session: string) => void session)
  // @ts-expect-error no such event
  server.on('conect', () => {})
  // @ts-expect-error the URL is the kernel's, read-only to the application
  server.url = 'ws://elsewhere'
  // @ts-expect-error plumbing: hooks are for plugins
  void server.hooks
  // @ts-expect-error plumbing: frames are sent by plugins
  server.sendFrame
  // @ts-expect-error plumbing
  void server.fanout
  // @ts-expect-error plumbing
  void server.install
  // @ts-expect-error plumbing
  void server.route
  // @ts-expect-error plumbing
  void server.expose
  // @ts-expect-error plumbing
  void server.codec
  // @ts-expect-error plumbing
  void server.transport
  // @ts-expect-error plumbing
  void server.closeSession
  // @ts-expect-error plumbing
  void server.wirePlugins
  // @ts-expect-error plumbing: the resume primitive is reconnect's
  void client.reattach
  // @ts-expect-error a client has one session, no lookup by id
  void client.getSession
  // @ts-expect-error plugin APIs are typed, not any
  server.greeter.hello(42)

  // Plugins and tests reach the plumbing explicitly.
  kernelOf(server).hooks.connect.tap('test', (session) => void session.id)
  kernelOf(client).fanout([], { kind: 'x' }) satisfies { sent: number }
}
