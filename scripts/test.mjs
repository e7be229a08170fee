// Runs the whole vitest suite, then prints one plain `N passed, N failed` line from vitest's JSON
// report (CI reads that line) and fails when no test ran at all.
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'

const report = '.vitest-report.json'
rmSync(report, { force: true })
const run = spawnSync(
  'vitest',
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' }, shell: process.platform === 'win32' },
)
let summary
try {
  summary = JSON.parse(readFileSync(report, 'utf8'))
} catch {
  console.error('test: vitest wrote no report; see its output above')
  process.exit(run.status || 1)
}
const passed = summary.numPassedTests
const failed = summary.numFailedTests + (summary.numRuntimeErrorTestSuites ?? 0)
const skipped = summary.numPendingTests + summary.numTodoTests
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
if (passed === 0) {
  console.error('test: no test ran')
  process.exit(1)
}
process.exit(failed > 0 || run.status !== 0 ? 1 : 0)
