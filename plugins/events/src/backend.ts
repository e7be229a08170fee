/**
 * Where room events and broadcasts go. The default backend delivers to this process's sessions; a
 * cluster plugin installs one that also reaches members on other nodes (`events.useBackend`), as
 * socket.io's adapters do. Membership stays in this plugin (`Rooms`); the backend hears of changes.
 */
import type { Session } from '@echostream/kernel'
import type { BroadcastOptions, BroadcastReport } from './types.js'

export interface EventsBackend {
  /**
   * Sends event `name` to the members of `rooms` (a session in several gets it once), or to every
   * session when `rooms` is null (broadcast). Reports what happened on this node.
   */
  publish(rooms: readonly string[] | null, name: string, data: unknown, options: BroadcastOptions | undefined): BroadcastReport
  /** `session` joined `room` on this node (after the local membership changed). */
  joined?(session: Session, room: string): void
  /** `session` left `room` on this node (leave, or disconnect). */
  left?(session: Session, room: string): void
}
