/**
 * What a page's bundle gets for server.ts (the package's `browser` field maps it here): a page is
 * a client, where broadcast and rooms refuse with E_STATE — so only the refusals are kept, in the
 * order a client checks them (a bad event name is reported before the role).
 */
import type { EchoKernel, Session } from '@echostream/kernel'
import { eventsErrors } from './errors.js'
import { checkEventName } from './frames.js'
import type { EventsState } from './api.js'
import type { EventsOptions } from './options.js'
import type { ServerParts } from './server.js'

export type { ServerParts }

const ROOMS = 'rooms live on the server.'
const refuse = (what: string, instead = ROOMS): never => {
  throw eventsErrors.serverOnly(what, instead)
}

export function createServerParts(_kernel: EchoKernel, options: Readonly<EventsOptions>, _state: EventsState): ServerParts {
  return {
    broadcast(name, _data, _opts, method) {
      checkEventName(name, options.maxNameLength, method)
      return refuse(`events.${method}`, 'on a client, events.emit(name, data) sends to the server.')
    },
    to: () => refuse('events.to'),
    rooms: () => refuse('events.rooms'),
    in: () => refuse('events.in'),
    useBackend: () => refuse('events.useBackend'),
    localBackend: () => ({ publish: () => refuse('events.localBackend().publish') }),
    join: (_room: unknown) => refuse('session.join'),
    leave: (_room: unknown) => refuse('session.leave'),
    sessionRooms: (): string[] => refuse('session.rooms'),
    clear() {},
  } as ServerParts & { join(this: Session, room: unknown): void }
}
