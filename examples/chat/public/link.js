// The page's link to the chat's nodes, as a small plugin on the prebuilt bundle's public API
// (definePlugin): what @echostream/plugin-auth and @echostream/plugin-cluster do on a Node client,
// which the prebuilt bundle does not carry.
//  - every handshake sends the current credentials (`hello.auth`: the login token once there is one);
//  - every reconnect attempt goes to the next node URL (a node that died is left behind);
//  - `onNode(node)` hears the node the session is on after each (re)connect.
import { definePlugin } from '/echostream-full.js'

export function chatLink({ urls, credentials, onNode = () => {} }) {
  return definePlugin({
    name: 'chat-link',
    version: '1.0.0',
    kernel: '^1',
    requires: ['transport'],
    setup(kernel) {
      kernel.hooks.hello.tap('chat-link', (hello) => {
        const value = credentials()
        return value ? { ...hello, auth: value } : hello
      })
      if ('reconnect' in kernel && urls.length > 1) {
        kernel.reconnect.on('reconnecting', () => {
          kernel.url = urls[(urls.indexOf(kernel.url) + 1) % urls.length]
        })
      }
      const report = (session) => onNode(session.handshake?.cluster?.node ?? '')
      kernel.hooks.connect.tap('chat-link', report)
      kernel.hooks.resumed.tap('chat-link', report)
    },
  })
}
