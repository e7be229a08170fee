/**
 * The admin listener: `/metrics` (Prometheus text), `/livez` and `/readyz` (Kubernetes probes) on a
 * port of its own, loopback by default, so scrapes and probes never share the WebSocket listener's
 * connection limits and can be firewalled apart from it.
 */
import { createServer, type Server } from 'node:http'
import { listenHttp, messageOf, type HttpListener } from '@echostream/kernel'
import type { Registry } from 'prom-client'
import { observabilityErrors } from './errors.js'
import type { Readiness } from './health.js'

export type AdminServer = HttpListener

export async function startAdmin(host: string, port: number, registry: Registry, readiness: Readiness): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'GET only\n')
    if (path === '/livez') return reply(200, 'text/plain', 'ok\n')
    if (path === '/readyz') {
      readiness.check().then(
        (r) => reply(r.ready ? 200 : 503, 'application/json', `${JSON.stringify(r)}\n`),
        (error) => reply(503, 'application/json', `${JSON.stringify({ ready: false, failing: { readiness: messageOf(error) } })}\n`),
      )
      return
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, registry.contentType, text),
        (error) => reply(500, 'text/plain', `metrics failed: ${messageOf(error)}\n`),
      )
      return
    }
    reply(404, 'text/plain', 'not found: try /metrics, /livez or /readyz\n')
  })
  return listenHttp(server, host, port, (error) => observabilityErrors.adminListen(host, port, messageOf(error)))
}
