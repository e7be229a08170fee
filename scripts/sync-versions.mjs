// Writes each package's src/version.ts from its package.json (run after `changeset version`):
// plugins that run in a browser cannot read package.json at run time. test/browser/versions.test.ts
// fails when the two disagree.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const header = `// Written by scripts/sync-versions.mjs from package.json (a test checks they agree): reading
// package.json at run time needs Node's createRequire, which a browser bundle cannot have.
`
export function versionFiles() {
  const out = []
  for (const group of ['kernel', 'plugins', 'presets']) {
    const dirs = group === 'kernel' ? [join(root, 'kernel')] : readdirSync(join(root, group)).map((d) => join(root, group, d))
    for (const dir of dirs) {
      const file = join(dir, 'src', 'version.ts')
      if (existsSync(file)) out.push({ file, version: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version })
    }
  }
  return out
}

export function versionSource(version) {
  return `${header}export const version = '${version}'\n`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const { file, version } of versionFiles()) {
    if (readFileSync(file, 'utf8') !== versionSource(version)) {
      writeFileSync(file, versionSource(version))
      console.log(`${file.slice(root.length)}: ${version}`)
    }
  }
}
