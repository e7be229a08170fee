// Runs the example end to end with real processes: `echostream start` on this folder's config,
// then the client against the URL the server printed, then SIGTERM to the server.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const cli = join(dirname(require.resolve('@echostream/node/package.json')), 'bin', 'echostream.js')
const tsx = require.resolve('tsx/cli')

/** Echoes a child's output line by line with a prefix (a chunk may hold several lines, or half of one). */
function echoLines(stream, prefix, onLine = () => {}) {
  let rest = ''
  stream.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop()
    for (const line of lines) {
      process.stdout.write(`${prefix}${line}\n`)
      onLine(line)
    }
  })
}

const server = spawn(process.execPath, [cli, 'start'], { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve, reject) => {
  let out = ''
  const timer = setTimeout(() => reject(new Error('server did not report its URL within 20 s')), 20_000)
  echoLines(server.stdout, 'server | ', (line) => {
    out += `${line}\n`
    const match = out.match(/listening on (wss?:\/\/\S+)/)
    if (match) {
      clearTimeout(timer)
      resolve(match[1])
    }
  })
  server.on('exit', (code) => reject(new Error(`server exited early with code ${code}`)))
})

const client = spawn(process.execPath, [tsx, 'client.ts', url], { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] })
echoLines(client.stdout, 'client | ')
const clientCode = await new Promise((resolve) => client.on('exit', resolve))

server.removeAllListeners('exit')
const serverCode = await new Promise((resolve) => {
  server.on('exit', resolve)
  server.kill('SIGTERM')
})
console.log(`\nclient exited ${clientCode}, server stopped with ${serverCode}`)
process.exit(clientCode === 0 && serverCode === 0 ? 0 : 1)
