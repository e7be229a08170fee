/** Builds a production message of the prebuilt bundles: `<id>: <values> (@echostream/preset-browser ERRORS.md)`. */
export function __echoMessage(id: string, ...values: unknown[]): string
