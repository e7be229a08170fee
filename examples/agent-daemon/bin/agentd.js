#!/usr/bin/env node
// Runs the TypeScript CLI with tsx and the workspace packages' source entries (the `development`
// export condition), so the example needs no build step. Signals are passed on; the exit code is its.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
const child = spawn(process.execPath, ['--conditions=development', '--import', import.meta.resolve('tsx'), cli, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development' },
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
