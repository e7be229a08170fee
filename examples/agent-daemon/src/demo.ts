/**
 * `agentd demo` (the example's `pnpm start`): everything at once, in a temp folder — the fake
 * platform and the daemon as their own processes, a user whose questions stream back token by
 * token, a "stop" mid-reply, an admin change applied live, `status`, then `stop`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connectAdmin } from './admin-client.js'
import { PlatformConnection } from './platform/client.js'

const NODE_ARGS = ['--conditions=development', '--import', import.meta.resolve('tsx')]
const BIN = fileURLToPath(new URL('../bin/agentd.js', import.meta.url))
const say = (text: string) => console.log(`\n\x1b[1m# ${text}\x1b[0m`)

function run(args: string[], env: Record<string, string> = {}): Promise<number | null> {
  return new Promise((resolve) => spawn(process.execPath, [BIN, ...args], { stdio: 'inherit', env: { ...process.env, ...env } }).on('exit', resolve))
}

export async function demo(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agentd-demo-'))
  const platform = spawn(process.execPath, [...NODE_ARGS, fileURLToPath(new URL('./platform/main.ts', import.meta.url))], {
    env: { ...process.env, PLATFORM_BOT_TOKEN: 'demo-bot-token' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const platformUrl = await new Promise<string>((resolve, reject) => {
    platform.stdout!.setEncoding('utf8').once('data', (line: string) => resolve((JSON.parse(line) as { url: string }).url))
    platform.once('exit', () => reject(new Error('the platform exited')))
  })
  const config = join(dir, 'agentd.config.json')
  writeFileSync(
    config,
    JSON.stringify({
      runtime: { port: 0 },
      admin: { port: 0, token: 'demo-admin-token' },
      connectors: [{ name: 'fakechat', platform: platformUrl, botToken: 'demo-bot-token' }],
    }),
  )
  writeFileSync(join(dir, 'agents.json'), JSON.stringify({ agents: [{ id: 'helper', name: 'Helper', system: 'Be brief.', model: { seed: 7, maxTokens: 24, tokenDelayMs: 40, jitterMs: 15 } }] }))
  try {
    say(`the fake platform listens on ${platformUrl}; agentd start --config ${config}`)
    if ((await run(['start', '--config', config])) !== 0) throw new Error('agentd did not start')

    const user = await PlatformConnection.open(platformUrl)
    await user.hello({ user: 'ada' })
    let ended: (() => void) | undefined
    let tokens = 0
    user.on((m) => {
      if (m.type === 'reply.start') (tokens = 0), process.stdout.write('helper: ')
      if (m.type === 'reply.delta') tokens++, process.stdout.write(String(m.text))
      if (m.type === 'reply.end') process.stdout.write(` [${m.reason}]\n`), ended?.()
    })
    const ask = (text: string, stopAfter?: number) =>
      new Promise<void>((resolve) => {
        ended = resolve
        console.log(`ada: ${text}`)
        user.send({ type: 'send', conversation: 'general', text })
        if (stopAfter) {
          const timer = setInterval(() => {
            if (tokens < stopAfter) return
            clearInterval(timer)
            process.stdout.write(' …\nada: stop\n')
            user.send({ type: 'send', conversation: 'general', text: 'stop' })
          }, 5)
        }
      })

    say('a question: the reply streams in token by token')
    await ask('What is a daemon?')
    say('another, and "stop" after 6 tokens: the generation is cancelled within one round trip')
    await ask('Tell me a long story', 6)

    say("an admin change over the admin channel (new seed and system prompt): the next reply uses it, no restart")
    const control = await connectAdmin(JSON.parse((await import('node:fs')).readFileSync(join(dir, 'agentd.state.json'), 'utf8')).adminUrl, 'demo-admin-token')
    console.log(JSON.stringify(await control.rpc.request('admin.agents.update', { id: 'helper', change: { system: 'Be cheerful.', model: { seed: 99 } } })))
    await control.stop()
    await ask('What is a daemon?')
    user.close()

    say('agentd status')
    await run(['status', '--config', config])
    say('agentd stop')
    await run(['stop', '--config', config])
  } finally {
    platform.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
}
