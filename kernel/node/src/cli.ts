/**
 * The `echostream` command, on commander (14: Node ≥ 20; see the README for why commander):
 * `start` a server from a config file, `call` a method on a running server, `status` and
 * `inspect` a config or a running server. Flags are checked when parsed (numbers, choices);
 * a usage error prints one `E_USAGE: …` line and exits 2, any other error `CODE: message` and
 * exits 1 — never a stack trace (`ECHOSTREAM_DEBUG=1` prints the cause).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { EchoError, KERNEL_VERSION } from '@echostream/kernel'
import { CliErrorCodes } from './cli/errors.js'
import { LOG_FORMATS, LOG_LEVELS } from './cli/log.js'

// The commands load config files, ajv and the transports: imported when one runs, so that help,
// --version and usage errors answer without loading them.
const TOKEN_ENV = 'ECHOSTREAM_DEVTOOLS_TOKEN'

const CONFIG_HELP = `Without --config, the config is searched from the current directory: echostream.config.{ts,mjs,js,json,yaml},
.echostreamrc*, or an "echostream" key in package.json.`

/** Parses a whole number of milliseconds, or fails the parse (exit 2) naming the flag. */
function milliseconds(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`${flag} takes a whole number of milliseconds, e.g. ${flag} 5000.`)
    return Number(value)
  }
}

function json(value: string): unknown {
  try {
    return JSON.parse(value)
  } catch (error) {
    throw new InvalidArgumentError(`params must be JSON (${(error as Error).message}); quote it for the shell, e.g. '{"a":1,"b":2}'.`)
  }
}

const configOption = () => new Option('-c, --config <file>', 'config file (default: searched from the current directory)')
const urlOption = (what: string) => new Option('-u, --url <url>', `${what} (default: the host and port of the app's config)`)
const tokenOption = () => new Option('--token <token>', `the devtools plugin's token`).env(TOKEN_ENV)

function program(): Command {
  const cli = new Command('echostream')
  cli
    .description('Run and talk to echostream servers.')
    .version(KERNEL_VERSION, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => {} }) // printed once, formatted, by fail()
    .addHelpText('after', `\n${CONFIG_HELP}\nExit codes: 0 ok, 1 an error with its code, 2 a usage error.`)

  cli
    .command('start')
    .description('serve the config until SIGINT/SIGTERM, then drain in-flight calls and exit 0')
    .addOption(configOption())
    .option('--print-config', 'print the resolved config (plugins in order, final options) and exit')
    .addOption(new Option('--drain-timeout <ms>', 'on SIGINT/SIGTERM, how long in-flight calls may take').argParser(milliseconds('--drain-timeout')).default(10_000))
    .addOption(new Option('--log-level <level>', 'log level (observability plugin and these lines)').choices(LOG_LEVELS))
    .addOption(new Option('--log-format <format>', 'log format (observability plugin and these lines)').choices(LOG_FORMATS))
    .addHelpText('after', `\nStop it with Ctrl+C (SIGINT) or kill <pid> (SIGTERM; the pid is printed on start). Through npm start,\nkill <npm's pid> works too: npm forwards the signal.`)
    .action(async (o) => (await import('./cli/start.js')).start({ config: o.config, printConfig: o.printConfig, drainTimeout: o.drainTimeout, logLevel: o.logLevel, logFormat: o.logFormat }))

  cli
    .command('call')
    .description('call a method on a running server and print the JSON result')
    .argument('<method>', 'method name, e.g. math.add')
    .argument('[params]', 'JSON params, e.g. \'{"a":1,"b":2}\'', json)
    .addOption(urlOption('server URL, e.g. ws://127.0.0.1:5000'))
    .addOption(configOption())
    .addOption(new Option('--timeout <ms>', 'give up after this long').argParser(milliseconds('--timeout')))
    .action(async (method: string, params: unknown, o) => (await import('./cli/call.js')).call(method, params, { url: o.url, config: o.config, timeout: o.timeout }))

  cli
    .command('status')
    .description("a running server's state (needs the devtools plugin on the server)")
    .addOption(urlOption('server URL'))
    .addOption(tokenOption())
    .addOption(configOption())
    .option('--json', 'print the whole devtools snapshot as JSON')
    .addOption(new Option('--timeout <ms>', 'give up after this long').argParser(milliseconds('--timeout')).default(10_000))
    .action(async (o) => {
      const { fetchStatus, formatStatus } = await import('./cli/status.js')
      const { snapshot } = await fetchStatus({ url: o.url, token: o.token, config: o.config, timeoutMs: o.timeout })
      console.log(o.json ? JSON.stringify(snapshot, null, 2) : formatStatus(snapshot))
    })

  cli
    .command('inspect')
    .description('what a config assembles to; with --url, the plugins a running server reports')
    .addOption(configOption())
    .option('--json', 'print JSON')
    .option('-u, --url <url>', 'ask the running server at this URL (needs its devtools plugin)')
    .addOption(tokenOption())
    .action(async (o) => {
      const { inspectConfig, inspectServer } = await import('./cli/inspect.js')
      return o.url ? inspectServer({ url: o.url, token: o.token, config: o.config, json: o.json }) : inspectConfig({ config: o.config, json: o.json })
    })

  return cli
}

/** Prints an error as one `CODE: message` line and exits: 2 for usage errors, 1 otherwise. */
function fail(error: unknown, argv: string[]): never {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) process.exit(0) // --help, --version
    const command = argv.find((a) => ['start', 'call', 'status', 'inspect'].includes(a))
    const message = error.message
      .replace(/^error: /, '')
      .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)')
      .replace(/\s+$/, '')
    console.error(`${CliErrorCodes.E_USAGE}: ${message}${/[.?)]$/.test(message) ? '' : '.'} See 'echostream ${command ? `${command} --help` : 'help'}'.`)
    process.exit(2)
  }
  const e = EchoError.from(error)
  console.error(`${e.code}: ${e.message}`)
  if (process.env.ECHOSTREAM_DEBUG && e.cause) console.error(e.cause)
  process.exit(e.code === CliErrorCodes.E_USAGE ? 2 : 1)
}

async function main(argv: string[]): Promise<void> {
  const cli = program()
  if (argv.length === 0) return void cli.outputHelp()
  await cli.parseAsync(argv, { from: 'user' })
}

const argv = process.argv.slice(2)
main(argv).catch((error: unknown) => fail(error, argv))
