/**
 * Client side: a list of node URLs (the next one on every reconnect attempt, so a client whose
 * node died reaches a live one), and the cluster's recovery signal as one event.
 */
import { Stage, type PluginKernel, type Session } from '@echostream/kernel'
import { clusterErrors } from './errors.js'
import type { ClusterOptions } from './options.js'
import type { ClusterApi, ClusterEvent } from './types.js'

const PLUGIN = 'cluster'

export function setupClient(kernel: PluginKernel, options: Readonly<ClusterOptions>, emit: (event: ClusterEvent, data: unknown) => void): Omit<ClusterApi, 'on'> {
  const urls = [...options.urls]
  if (!kernel.url && urls.length) kernel.url = urls[0]
  let node = ''

  if (urls.length > 1) {
    if (!('reconnect' in kernel)) throw clusterErrors.config('A client with several cluster urls moves between them on reconnect: load @echostream/plugin-reconnect before cluster.')
    kernel.reconnect.on('reconnecting', () => {
      const at = urls.indexOf(kernel.url ?? '')
      kernel.url = urls[(at + 1) % urls.length]
      emit('failover', { url: kernel.url })
    })
  }

  const welcomeOf = (session: Session) => session.handshake.cluster as { node?: string; epoch?: string; recovered?: boolean; reason?: string; inDoubt?: { from: number; to: number } } | undefined

  // On a resume the server checks that the session's state is the one this client knew.
  kernel.hooks.hello.tap(PLUGIN, (hello) => {
    const session = kernel.session
    const epoch = session?.state === 'suspended' ? welcomeOf(session)?.epoch : undefined
    return epoch ? { ...hello, cluster: { epoch } } : hello
  })
  kernel.hooks.connect.tap({ name: PLUGIN, stage: Stage.FIRST }, (session: Session) => {
    const cluster = welcomeOf(session)
    node = cluster?.node ?? ''
    if (cluster?.recovered === false) emit('recovery', { recovered: false, reason: cluster.reason, node })
  })
  kernel.hooks.resumed.tap(PLUGIN, (session: Session) => {
    const cluster = welcomeOf(session)
    const moved = cluster?.node !== undefined && cluster.node !== node
    node = cluster?.node ?? node
    // `inDoubt`: frames this client sent that the node that died had received but may not have handled.
    emit('recovery', cluster?.inDoubt ? { recovered: true, node, moved, inDoubt: cluster.inDoubt } : { recovered: true, node, moved })
  })
  if ('events' in kernel) {
    kernel.events.on('$cluster.recovery', (data: Record<string, unknown>) => emit('recovery', { ...data, node }))
  }

  const serverOnly = (method: string) => () => {
    throw clusterErrors.serverOnly(method)
  }
  return {
    get nodeId() {
      return node
    },
    get ready() {
      return kernel.session?.state === 'open'
    },
    health: serverOnly('health'),
    presence: serverOnly('presence'),
    online: serverOnly('online'),
    session: serverOnly('session'),
    user: serverOnly('user'),
    bindUser: serverOnly('bindUser'),
    save: serverOnly('save'),
  }
}
