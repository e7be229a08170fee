/** The browser build of server-build.ts: a kernel here is never a server, so server-only code is dead. */
export const SERVER_BUILD: boolean = false
