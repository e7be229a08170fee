/**
 * What a browser bundle gets for kernel-range.ts (the package's `browser` field maps it here): no
 * semver in a page. A page's plugins are bundled with its kernel, and the package manager checked
 * each plugin's peer dependency on @echostream/kernel when they were installed; the page refuses a
 * plugin without a `kernel` range and one whose caret range names another major (`^2` here), and
 * leaves other range forms to that install-time check. presets/browser/README.md, "Decisions".
 */
import { EchoError, ErrorCodes } from './errors.js'
import type { PluginDefinition } from './plugin.js'
import { KERNEL_VERSION } from './version.js'

export function checkKernelRange(plugin: PluginDefinition): void {
  const major = typeof plugin.kernel === 'string' ? /^\s*\^\s*v?(\d+)/.exec(plugin.kernel)?.[1] : ''
  if (!plugin.kernel || typeof plugin.kernel !== 'string' || (major && major !== KERNEL_VERSION.split('.')[0])) {
    throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${plugin.name}@${plugin.version}' needs @echostream/kernel ${JSON.stringify(plugin.kernel)}, but this kernel is ${KERNEL_VERSION}: install a version of the plugin made for kernel ${KERNEL_VERSION.split('.')[0]}.x.`)
  }
}
