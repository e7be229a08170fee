// Written by scripts/sync-versions.mjs from package.json (a test checks they agree): reading
// package.json at run time needs Node's createRequire, which a browser bundle cannot have.
export const version = '1.0.0'
