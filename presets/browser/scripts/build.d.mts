export interface BundleResult {
  name: string
  code: Uint8Array
  min: number
  gzip: number
  metafile: { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> }
}
export const BUNDLES: Array<{ name: string; entry: string }>
export function breakdown(metafile: BundleResult['metafile']): Array<[string, number]>
export interface Message { text: string; file: string }
export function buildBundles(options?: { outdir?: string; minify?: boolean; fullMessages?: boolean }): Promise<BundleResult[] & { messages: Map<string, Message> }>
export function shortenMessages(source: string, file: string, messages: Map<string, Message>): string
export function errorsDoc(messages: Map<string, Message>): string
