/**
 * `npx create-echostream my-app --preset default` and `npx create-echostream --plugin my-plugin`.
 * With no preset and a terminal on stdin it asks for the name and the preset (@clack/prompts).
 * Ctrl+C at a prompt prints one line and exits 130 (128 + SIGINT, as a shell reports it), having
 * written nothing.
 */
import { basename, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { cancel, intro, isCancel, select, text } from '@clack/prompts'
import { createApp, CreateError, createPlugin, invalidPackageName, isPresetName, PRESET_NAMES, PRESETS, type Created, type PresetName } from './index.js'
import { OWN } from './versions.js'

const USAGE = `create-echostream ${OWN.version}

Usage:
  npx create-echostream <folder> [--preset ${PRESET_NAMES.join('|')}] [--name NAME] [--force] [--from DIR]
  npx create-echostream --plugin <folder> [--name NAME] [--force] [--from DIR]

Options:
  --preset NAME   the preset the app starts from (default: default; asked when stdin is a terminal)
${PRESET_NAMES.map((p) => `                    ${p.padEnd(9)} ${PRESETS[p].summary}`).join('\n')}
  --plugin        write a third-party plugin package instead of an app
  --name NAME     npm package name (default: the folder's name; @scope/name writes into ./name)
  --force         write into a folder that is not empty (files of the same name are replaced)
  --from DIR      depend on the package tarballs in DIR (file: specs and overrides) instead of the
                  npm registry, so \`npm install --offline\` works; also ECHOSTREAM_TARBALLS=DIR
  -h, --help      this text
  -v, --version   the version`

class UsageError extends Error {}

interface Parsed {
  folder?: string
  name?: string
  preset?: string
  plugin: boolean
  force: boolean
  from?: string
}

function parse(argv: string[]): Parsed | 'help' | 'version' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        preset: { type: 'string', short: 'p' },
        plugin: { type: 'string' },
        name: { type: 'string' },
        force: { type: 'boolean', short: 'f' },
        from: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    })
  } catch (error) {
    // `--plugin` with no value: accept it as a flag and take the folder from the positionals.
    if (/--plugin/.test((error as Error).message)) return parse(argv.map((a) => (a === '--plugin' ? '--plugin=' : a)))
    throw new UsageError((error as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) return 'help'
  if (values.version) return 'version'
  const plugin = values.plugin !== undefined
  const folders = [...(values.plugin ? [values.plugin] : []), ...positionals]
  if (folders.length > 1) throw new UsageError(`Give one folder, got ${folders.join(', ')}.`)
  if (plugin && values.preset) throw new UsageError('--preset is for apps; a plugin package has none.')
  return {
    folder: folders[0],
    name: values.name,
    preset: values.preset,
    plugin,
    force: values.force ?? false,
    from: values.from ?? (process.env.ECHOSTREAM_TARBALLS || undefined),
  }
}

/** `@scope/name` as a folder argument: the folder is `name`, the package name the whole thing. */
function folderAndName(folder: string, name: string | undefined): { dir: string; name: string | undefined } {
  const scoped = /^@[^/]+\/([^/]+)$/.exec(folder)
  return scoped ? { dir: scoped[1]!, name: name ?? folder } : { dir: folder, name }
}

/** Ctrl+C (or Escape) at a prompt. */
function cancelled(): never {
  cancel('Cancelled: nothing was written.')
  process.exit(130)
}

async function ask(parsed: Parsed): Promise<Parsed> {
  intro(`create-echostream ${OWN.version}`)
  let folder = parsed.folder
  if (!folder) {
    const answer = await text({
      message: 'App name (its folder and package name)',
      placeholder: 'echostream-app',
      defaultValue: 'echostream-app',
      validate: (value) => {
        const chosen = value?.trim() || 'echostream-app'
        const name = parsed.name ?? folderAndName(chosen, undefined).name ?? basename(chosen)
        const problem = invalidPackageName(name)
        return problem ? `'${name}' cannot be a package name: ${problem}` : undefined
      },
    })
    if (isCancel(answer)) cancelled()
    folder = answer.trim() || 'echostream-app'
  }
  if (parsed.preset) return { ...parsed, folder }
  const preset = await select<PresetName>({
    message: 'Preset',
    options: PRESET_NAMES.map((p) => ({ value: p, label: p, hint: PRESETS[p].summary })),
    initialValue: 'default',
  })
  if (isCancel(preset)) cancelled()
  return { ...parsed, folder, preset }
}

function report(created: Created, what: string, next: string[]): void {
  const where = relative(process.cwd(), created.dir) || '.'
  console.log(`\nCreated ${what} ${created.name} in ${where}:`)
  for (const f of created.files) console.log(`  ${f}`)
  console.log('\nNext:')
  for (const line of [...(where === '.' ? [] : [`cd ${where}`]), ...next]) console.log(`  ${line}`)
}

async function main(): Promise<void> {
  const result = parse(process.argv.slice(2))
  if (result === 'help') return void console.log(USAGE)
  if (result === 'version') return void console.log(OWN.version)
  let parsed = result
  const install = parsed.from ? 'npm install --offline' : 'npm install'
  if (parsed.plugin) {
    if (!parsed.folder) throw new UsageError('--plugin: give the plugin package name, e.g. --plugin echostream-plugin-audit')
    const { dir, name } = folderAndName(parsed.folder, parsed.name)
    const created = createPlugin({ dir, name, force: parsed.force, from: parsed.from })
    report(created, 'the plugin package', [install, 'npm test', 'npm pack'])
    return
  }
  if ((!parsed.preset || !parsed.folder) && process.stdin.isTTY) parsed = await ask(parsed)
  if (!parsed.folder) throw new UsageError('Give the folder of the new app, e.g. npx create-echostream my-app --preset default')
  const preset = parsed.preset ?? 'default'
  if (!isPresetName(preset)) throw new UsageError(`Unknown preset '${preset}': use one of ${PRESET_NAMES.join(', ')}.`)
  const { dir, name } = folderAndName(parsed.folder, parsed.name)
  const created = createApp({ dir, name, preset, force: parsed.force, from: parsed.from })
  report(created, `the ${preset} app`, [install, 'npm start', 'npm run client   # in another terminal', 'npm test'])
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n\n${USAGE}`)
    process.exit(2)
  }
  console.error(error instanceof Error ? error.message : String(error))
  if (process.env.ECHOSTREAM_DEBUG && !(error instanceof CreateError)) console.error(error)
  process.exit(1)
})
