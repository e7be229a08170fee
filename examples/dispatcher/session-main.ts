/**
 * A session from the command line: `session <dispatcher url> [--utterances 10] [--capability recognise]
 * [--seed 1]` sends synthetic utterances and prints each result as it arrives (in order).
 */
import { parseArgs } from 'node:util'
import { utteranceAudio } from './src/model.js'
import { openSession } from './src/session.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    utterances: { type: 'string', default: '10' },
    capability: { type: 'string', default: 'recognise' },
    seed: { type: 'string', default: '1' },
  },
})
const url = positionals[0]
if (!url) {
  console.error('usage: session <dispatcher url, e.g. ws://127.0.0.1:7000> [--utterances 10] [--capability recognise] [--seed 1]')
  process.exit(2)
}
const count = Number(values.utterances)
const session = await openSession(url)
session.onResult((r) => console.log(`#${r.index} ${r.capability} ${r.worker ?? '-'} (try ${r.attempts}, ${r.latencyMs} ms): ${r.text ?? `${r.error?.code}: ${r.error?.message}`}`))
for (let i = 0; i < count; i++) await session.send(i, values.capability, utteranceAudio(Number(values.seed) * 100_000 + i, 4, 320))
await session.waitFor(count, 120_000)
await session.close()
