/**
 * Whether this build of the kernel can be a server: true here, false in the browser build (the
 * package's `browser` field maps this module to server-build.browser.ts), where
 * `createKernel({ role: 'server' })` refuses with E_CONFIG (handshake/server.browser.ts). Code that
 * runs only on a server tests `SERVER_BUILD && kernel.role === 'server'`: a browser bundler then
 * drops it (esbuild inlines the constant), and on Node the test is the role's alone.
 */
export const SERVER_BUILD: boolean = true
