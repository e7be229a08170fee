// Injected into the prebuilt bundles (scripts/build.mjs, esbuild `inject`): one function builds every
// production message, `<id>: <value> | <value> (@echostream/preset-browser ERRORS.md)`, from the id
// and the values `shortenMessages` left in place of the text. Each value is written as the template
// literal of the full text wrote it (`${value}`), so the values read exactly as in the Node build.
export function __echoMessage(id, ...values) {
  let text = id
  for (let i = 0; i < values.length; i++) text += `${i ? ' | ' : ': '}${values[i]}`
  return `${text} (@echostream/preset-browser ERRORS.md)`
}
