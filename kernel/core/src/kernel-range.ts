/** A plugin's `kernel` range against this kernel's version (semver); order.ts re-exports it. */
import satisfies from 'semver/functions/satisfies.js'
import validRange from 'semver/ranges/valid.js'
import { EchoError, ErrorCodes } from './errors.js'
import type { PluginDefinition } from './plugin.js'
import { KERNEL_VERSION } from './version.js'

export function checkKernelRange(plugin: PluginDefinition): void {
  if (typeof plugin.kernel !== 'string' || !validRange(plugin.kernel)) {
    throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${plugin.name}' declares no valid kernel range (kernel: ${JSON.stringify(plugin.kernel)}); its author must set e.g. kernel: '^1'.`)
  }
  if (!satisfies(KERNEL_VERSION, plugin.kernel, { includePrerelease: true })) {
    throw new EchoError(
      ErrorCodes.E_PLUGIN,
      `Plugin '${plugin.name}@${plugin.version}' needs @echostream/kernel ${plugin.kernel}, but this kernel is ${KERNEL_VERSION}: install a version of the plugin made for kernel ${KERNEL_VERSION.split('.')[0]}.x, or a kernel in ${plugin.kernel}.`,
    )
  }
}
