/**
 * The rpc type tests (test/integration/rpc-contract.test-d.ts, checked by `pnpm test`'s typecheck)
 * can fail: the checker, run over a file of code those tests promise to reject, reports an error on
 * every line marked MUST-FAIL and on no other line. Without it, a broken contract type (`any`
 * somewhere) would make every `@ts-expect-error` and `expectTypeOf` pass or fail in ways nobody sees.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { WORKSPACE } from '../helpers/wire.js'

const run = promisify(execFile)
const TSC = join(WORKSPACE, 'node_modules/typescript/bin/tsc')
const PROJECT = join(WORKSPACE, 'test/fixtures/rpc-contract/must-fail')

async function tsc(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [TSC, ...args], { cwd: WORKSPACE, timeout: 120_000 })
    return { code: 0, output: stdout }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }
  }
}

describe('rpc type tests', () => {
  it('a handler contradicting its contract, wrong params, a wrong result, a wrong item type and a plugin the config does not load are type errors', { timeout: 180_000 }, async () => {
    // The fixture reads the kernel's and the plugin's declarations (project references): build them first.
    const build = await tsc(['-b', ...['kernel/core', 'kernel/node', 'plugins/rpc', 'presets/minimal'].map((p) => join(WORKSPACE, p))])
    expect(build.code, build.output).toBe(0)
    const { code, output } = await tsc(['-p', PROJECT, '--pretty', 'false'])
    const source = readFileSync(join(PROJECT, 'wrong.ts'), 'utf8').split('\n')
    const marked = source.flatMap((line, i) => (line.includes('// MUST-FAIL') ? [i + 1] : []))
    const failing = [...new Set([...output.matchAll(/wrong\.ts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1])))].sort((a, b) => a - b)
    expect(marked.length).toBeGreaterThanOrEqual(5)
    expect(code).not.toBe(0)
    expect(failing).toEqual(marked)
    // Nothing else in the program failed (the fixture's own imports compile).
    expect(output.split('\n').filter((l) => / error TS\d+/.test(l) && !l.includes('wrong.ts('))).toEqual([])
  })
})
