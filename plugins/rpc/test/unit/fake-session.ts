/** A stand-in for a kernel session: records what the engine sends (no socket, no codec). */
import { EchoError, type Frame, type Session } from '@echostream/kernel'

export interface FakeSession extends Session {
  state: 'handshaking' | 'open' | 'suspended' | 'closed'
  sent: Frame[]
  /** Makes the next sends throw this error (as the kernel does for an unencodable value). */
  failSend: EchoError | undefined
}

let counter = 0

export function fakeSession(state: FakeSession['state'] = 'open'): FakeSession {
  const session = {
    id: `fake-${++counter}`,
    peer: '127.0.0.1:1',
    createdAt: Date.now(),
    state,
    sent: [] as Frame[],
    failSend: undefined as EchoError | undefined,
    writable: true,
    whenWritable: () => Promise.resolve(),
    send(frame: Frame) {
      if (session.state === 'closed') throw new EchoError('E_CLOSED', 'closed')
      if (session.failSend) throw session.failSend
      session.sent.push(frame)
      return 1
    },
  }
  return session as unknown as FakeSession
}

/** The last frame sent, or undefined. */
export function last(session: FakeSession): Frame | undefined {
  return session.sent[session.sent.length - 1]
}
