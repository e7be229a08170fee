/**
 * `createServer`/`createClient` as the tests use them: @echostream/node's (config objects, files
 * and string specifiers), returning the plugin kernel behind the application facade, since tests
 * reach the plumbing (hooks, sessions, stats) that `EchoServer`/`EchoClient` hide.
 */
import { createClient as nodeCreateClient, createServer as nodeCreateServer, kernelOf, type EchoConfig, type EchoKernel, type NodeCreateOptions } from '@echostream/node'

export async function createServer(config?: EchoConfig | string, options?: NodeCreateOptions): Promise<EchoKernel> {
  return kernelOf(await nodeCreateServer(config, options))
}

export async function createClient(config?: EchoConfig | string, options?: NodeCreateOptions): Promise<EchoKernel> {
  return kernelOf(await nodeCreateClient(config, options))
}
