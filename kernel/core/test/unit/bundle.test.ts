/**
 * The core runs anywhere: bundled by esbuild for `platform: 'browser'` with nothing external, it
 * resolves no Node built-in (esbuild fails with "Could not resolve node:…" otherwise) and pulls in
 * none of the Node package's dependencies. (No Node global either: kernel/core/tsconfig.json has
 * `types: []`, so `Buffer` or `process` in its sources fails the build.) Prints the size.
 */
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url))

describe('browser bundle of @echostream/kernel', () => {
  it('bundles for the browser with zero errors and no Node dependency', async () => {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    })
    expect(result.errors).toEqual([])
    const code = result.outputFiles[0]!.text
    const bytes = result.outputFiles[0]!.contents.byteLength
    const gzipped = (await import('node:zlib')).gzipSync(result.outputFiles[0]!.contents).byteLength
    console.log(`@echostream/kernel browser bundle: ${(bytes / 1024).toFixed(1)} KiB minified, ${(gzipped / 1024).toFixed(1)} KiB gzipped`)
    const inputs = Object.keys(result.metafile!.inputs)
    expect(inputs.filter((file) => /node_modules\/(\.pnpm\/)?(ajv|cosmiconfig|tsx|esbuild|resolve\.exports)/.test(file))).toEqual([])
    expect(code).not.toMatch(/\bBuffer\.|require\(["']node:|from ?["']node:/)
    // Every kernel part is in it (nothing was tree-shaken away by accident).
    expect(inputs.some((file) => file.endsWith('src/pipeline.ts'))).toBe(true)
    expect(bytes).toBeLessThan(100 * 1024)
  })
})
