export function versionFiles(): Array<{ file: string; version: string }>
export function versionSource(version: string): string
