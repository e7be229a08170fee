// Types of pack-all.mjs, for the TypeScript tests that import it.
export interface PackManifest {
  /** Workspace packages: name → version, tarball file (relative to the folder), package folder. */
  packages: Record<string, { version: string; file: string; dir: string; files: string[] }>
  /** Third-party dependencies: name → version, tarball file under deps/. */
  deps: Record<string, { version: string; file: string }>
}

export interface Packed {
  out: string
  manifest: PackManifest
}

export function workspacePackages(root?: string): Array<{ dir: string; pkg: Record<string, any> }>
export function dependencyClosure(starts: Array<{ dir: string; pkg: Record<string, any> }>, extras?: string[], root?: string): Map<string, { version: string; dir: string; requiredBy: string }>
export function tarballName(name: string, version: string): string
export function tarballFiles(file: string): string[]
export function tarballEntry(file: string, wanted: string): string
/** @deprecated the old name of tarballEntry */
export function gunzipTarEntry(file: string, wanted: string): string
export function absolutePaths(value: unknown, path?: string): string[]
export function checkTarball(file: string): string[]
export function packAll(options?: { out?: string; build?: boolean; deps?: boolean; extras?: string[]; root?: string; log?: (message: string) => void }): Promise<Packed>
export function packAllCached(options?: { build?: boolean; root?: string; cacheRoot?: string; log?: (message: string) => void; lockTimeoutMs?: number }): Promise<Packed & { reused: boolean }>
