/**
 * scripts/pack-all.mjs's tarball check on hand-made bad tarballs (fast, no packing): an absolute
 * `file:` path in the manifest, missing repository/homepage/bugs/keywords/license or LICENSE file, a source map whose
 * sources are neither inlined nor shipped; and a good tarball passes.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { absolutePaths, checkTarball, tarballFiles } from '../../scripts/pack-all.mjs'
import { tempDir } from '../helpers/fixtures.js'

const GOOD = {
  name: 'good-pkg',
  version: '1.0.0',
  license: 'MIT',
  keywords: ['echostream'],
  homepage: 'https://example.org/good-pkg#readme',
  repository: { type: 'git', url: 'git+https://example.org/good-pkg.git' },
  bugs: { url: 'https://example.org/good-pkg/issues' },
  exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
  dependencies: { ws: '^8.0.0' },
}

function tarball(pkg: Record<string, unknown>, map: Record<string, unknown>, { license = true } = {}): string {
  const dir = tempDir()
  const root = join(dir, 'package')
  mkdirSync(join(root, 'dist'), { recursive: true })
  writeFileSync(join(root, 'package.json'), JSON.stringify(pkg))
  writeFileSync(join(root, 'README.md'), '# x\n')
  if (license) writeFileSync(join(root, 'LICENSE'), 'MIT License\n')
  writeFileSync(join(root, 'dist/index.js'), 'export {}\n//# sourceMappingURL=index.js.map\n')
  writeFileSync(join(root, 'dist/index.d.ts'), 'export {}\n')
  writeFileSync(join(root, 'dist/index.js.map'), JSON.stringify({ version: 3, file: 'index.js', mappings: '', names: [], ...map }))
  const file = join(dir, 'pkg.tgz')
  execFileSync('tar', ['-czf', file, '-C', dir, 'package'])
  return file
}

describe('pack-all: checkTarball', () => {
  it('passes a tarball with metadata, relative specs and maps that carry their sources', () => {
    const file = tarball(GOOD, { sources: ['../src/index.ts'], sourcesContent: ['export {}\n'] })
    expect(tarballFiles(file).sort()).toEqual(['package/LICENSE', 'package/README.md', 'package/dist/index.d.ts', 'package/dist/index.js', 'package/dist/index.js.map', 'package/package.json'])
    expect(checkTarball(file)).toEqual([])
  })

  it('flags absolute paths, missing metadata and maps without their sources', () => {
    const { homepage: _h, bugs: _b, license: _l, ...rest } = GOOD
    const file = tarball({ ...rest, devDependencies: { kernel: 'file:/home/someone/tarballs/kernel.tgz' }, overrides: { ws: 'C:\\tarballs\\ws.tgz' } }, { sources: ['../src/index.ts'] }, { license: false })
    const problems = checkTarball(file).join('\n')
    expect(problems).toContain('absolute path (devDependencies.kernel: file:/home/someone/tarballs/kernel.tgz)')
    expect(problems).toContain('absolute path (overrides.ws: C:\\tarballs\\ws.tgz)')
    expect(problems).toContain('has no homepage')
    expect(problems).toContain('has no bugs')
    expect(problems).toContain('good-pkg: no LICENSE file')
    expect(problems).toContain('package.json has no license')
    expect(problems).toContain('dist/index.js.map maps to ../src/index.ts, which is neither in the map nor in the tarball')
  })

  it('absolutePaths leaves relative and registry specs alone', () => {
    expect(absolutePaths({ a: 'file:../x.tgz', b: '^1.0.0', c: 'https://example.org/x', d: ['./dist/index.js'] })).toEqual([])
  })
})
