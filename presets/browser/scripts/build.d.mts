export interface BundleResult {
  name: string
  code: Uint8Array
  min: number
  gzip: number
  metafile: { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> }
}
export const BUNDLES: Array<{ name: string; entry: string }>
export function buildBundles(options?: { outdir?: string; minify?: boolean }): Promise<BundleResult[]>
export function breakdown(metafile: BundleResult['metafile']): Array<[string, number]>
