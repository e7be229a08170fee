/**
 * @echostream/node — the Node-only half of the kernel: config files (cosmiconfig), TypeScript
 * configs (tsx, loaded only for a .ts file), resolution of presets, plugins and handler modules
 * from the config's folder, ajv option validation, and the `echostream` CLI. Re-exports
 * everything of @echostream/kernel, with Node's `createServer`/`createClient` in place of the core's.
 */
export * from '@echostream/kernel'
export { createServer, createClient, resolveConfig, importModule, withPluginOptions, type NodeCreateOptions } from './create.js'
export { loadConfigFile, findConfigFile, loadPlugin, nodeResolver, CONFIG_SEARCH_PLACES, type LoadedConfig } from './config-file.js'
export { resolveSpecifier, importFile, similarPackages, installedPackages, KNOWN_PACKAGES } from './resolve.js'
export { substituteEnv } from './env.js'
export { ajvValidator, validateOptions, checkOptions } from './validate.js'
export { suggest, editDistance, orList } from './suggest.js'
export { fetchStatus, formatStatus, SNAPSHOT_METHOD, TOKEN_ENV, type StatusOptions } from './cli/status.js' // DevtoolsSnapshot: the kernel's, above
