// Runs the example end to end with real processes: `echostream start` on this folder's config,
// then the client against the URL the server printed, then SIGTERM to the server.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const cli = join(dirname(require.resolve('@echostream/kernel/package.json')), 'bin', 'echostream.js')
const tsx = require.resolve('tsx/cli')

const server = spawn(process.execPath, [cli, 'start'], { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve, reject) => {
  let out = ''
  const timer = setTimeout(() => reject(new Error('server did not report its URL within 20 s')), 20_000)
  server.stdout.on('data', (chunk) => {
    process.stdout.write(`server | ${chunk}`)
    out += chunk
    const match = out.match(/listening on (wss?:\/\/\S+)/)
    if (match) {
      clearTimeout(timer)
      resolve(match[1])
    }
  })
  server.on('exit', (code) => reject(new Error(`server exited early with code ${code}`)))
})

const client = spawn(process.execPath, [tsx, 'client.ts', url], { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] })
client.stdout.on('data', (chunk) => process.stdout.write(`client | ${chunk}`))
const clientCode = await new Promise((resolve) => client.on('exit', resolve))

server.removeAllListeners('exit')
const serverCode = await new Promise((resolve) => {
  server.on('exit', resolve)
  server.kill('SIGTERM')
})
console.log(`\nclient exited ${clientCode}, server stopped with ${serverCode}`)
process.exit(clientCode === 0 && serverCode === 0 ? 0 : 1)
