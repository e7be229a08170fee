/**
 * The core runs anywhere: bundled by esbuild for `platform: 'browser'` with nothing external, it
 * resolves no Node built-in (esbuild fails with "Could not resolve node:…" otherwise). (No Node
 * global either: kernel/core/tsconfig.json has `types: []`, so `Buffer` or `process` in its sources
 * fails the build.) A browser app that does not use `SchemaCompiler` carries no ajv: plugin options
 * are checked by the core's own small validator, and the package is `sideEffects: false`, so the
 * schema helper is dropped when unused. For a browser, the package's `browser` field maps ajv,
 * semver and tapable to the light versions in src/light/, so none of them is bundled. Prints the sizes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, type BuildOptions, type Metafile } from 'esbuild'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const common: BuildOptions = { bundle: true, platform: 'browser', format: 'esm', target: 'es2022', minify: true, write: false, metafile: true, logLevel: 'silent' }

/** Bytes in the output per package (`src` for the kernel's own files). */
function byPackage(metafile: Metafile): Record<string, number> {
  const sizes: Record<string, number> = {}
  for (const output of Object.values(metafile.outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (!bytesInOutput) continue
      const name = file.includes('node_modules/') ? file.replace(/.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '').split('/')[0]! : 'src'
      sizes[name] = (sizes[name] ?? 0) + bytesInOutput
    }
  }
  return sizes
}

function report(label: string, result: { outputFiles?: Array<{ contents: Uint8Array }>; metafile?: Metafile }): { bytes: number; parts: Record<string, number> } {
  const contents = result.outputFiles![0]!.contents
  const parts = byPackage(result.metafile!)
  const list = Object.entries(parts).sort((a, b) => b[1] - a[1]).map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(1)}`).join(', ')
  console.log(`${label}: ${(contents.byteLength / 1024).toFixed(1)} KiB minified, ${(gzipSync(contents).byteLength / 1024).toFixed(1)} KiB gzipped (KiB: ${list})`)
  return { bytes: contents.byteLength, parts }
}

describe('browser bundle of @echostream/kernel', () => {
  it('the whole core bundles for the browser with zero errors and no Node module', async () => {
    const result = await build({ ...common, entryPoints: [`${root}/src/index.ts`] })
    expect(result.errors).toEqual([])
    const { parts } = report('@echostream/kernel (every export)', result)
    expect(Object.keys(parts).filter((name) => /^(cosmiconfig|tsx|esbuild|resolve\.exports)$/.test(name))).toEqual([])
    expect(result.outputFiles![0]!.text).not.toMatch(/require\(["']node:|from ?["']node:/)
  })

  it('an app using the kernel carries no ajv, semver or tapable (src/light/ stands in)', async () => {
    const contents = `import { createClient, definePlugin, EchoError, describe } from './src/index.ts'\nexport { createClient, definePlugin, EchoError, describe }\n`
    const result = await build({ ...common, stdin: { contents, resolveDir: root, loader: 'ts' } })
    expect(result.errors).toEqual([])
    const { bytes, parts } = report('@echostream/kernel (createClient, definePlugin)', result)
    expect(Object.keys(parts).sort()).toEqual(['src'])
    const light = Object.entries(Object.values(result.metafile!.outputs)[0]!.inputs).filter(([file, { bytesInOutput }]) => file.includes('src/light/') && bytesInOutput > 0)
    expect(light.map(([file]) => file.replace(/.*src\/light\//, '')).sort()).toEqual(['tapable.ts']) // no SchemaCompiler here: no light ajv either; the browser build's kernel-range check needs no semver
    expect(parts.src).toBeGreaterThan(30 * 1024) // the pipeline, handshake and host are all in it
    expect(bytes).toBeLessThan(100 * 1024)
    // SERVER_BUILD is false in the browser build: the lifecycle's server-only branches are gone.
    expect(result.outputFiles![0]!.text).not.toContain('server stopping')
    // …and a page's WebSocket takes no parts: outbound-parts.browser.ts stands in (frames go whole).
    expect(result.outputFiles![0]!.text).not.toMatch(/\.sendParts\(/)
  })

  it("the browser build is a client's: no server handshake or runtime plugin loading in it, and a server kernel from it says why", async () => {
    const contents = `export { createKernel, definePlugin, kernelErrors } from './src/index.ts'\n`
    const result = await build({ ...common, minify: false, stdin: { contents, resolveDir: root, loader: 'ts' } })
    const inputs = Object.entries(Object.values(result.metafile!.outputs)[0]!.inputs).filter(([, { bytesInOutput }]) => bytesInOutput > 0).map(([file]) => file.replace(/.*?src\//, 'src/'))
    expect(inputs).toContain('src/handshake/server.browser.ts')
    expect(inputs).not.toContain('src/handshake/server.ts')
    expect(inputs).toContain('src/runtime-plugins.browser.ts')
    expect(inputs).not.toContain('src/runtime-plugins.ts')
    expect(inputs).not.toContain('src/fanout.ts')
    const dir = mkdtempSync(join(tmpdir(), 'kernel-browser-'))
    try {
      writeFileSync(join(dir, 'kernel.mjs'), result.outputFiles![0]!.contents)
      const browserKernel = (await import(pathToFileURL(join(dir, 'kernel.mjs')).href)) as typeof import('../../src/index.js')
      await expect(browserKernel.createKernel({ role: 'server' })).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/browser build/) })
      const client = await browserKernel.createKernel({ role: 'client', url: 'ws://127.0.0.1:1' })
      expect(client.role).toBe('client')
      // Nor loading or unloading plugins while it runs: a page's plugins are fixed at creation.
      await expect(client.load(browserKernel.definePlugin({ name: 'late', version: '1.0.0', kernel: '^1', setup() {} }))).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/browser build/) })
      await expect(client.unload('late')).rejects.toMatchObject({ code: 'E_CONFIG' })
      // Nor fan-out (a page has one session).
      expect(() => client.fanout([], { kind: 'x' })).toThrow(/browser build/)
      await client.stop()
      // The public table still has the server's entries (only the kernel's own modules import by side).
      expect(browserKernel.kernelErrors.noHello(5).code).toBe('E_PROTOCOL')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
