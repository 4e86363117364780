#!/usr/bin/env node
// The `switchboard` command: start, serve, worker, check-config, chat, health, dead-letters and help (COMMANDS below).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  checkConfigFiles,
  closest,
  ConfigError,
  formatProblems,
  loadConfig,
  type Config,
  type ConfigProblem,
} from '../config/index.js';
import { configVariables, EnvError, readEnv, type Env } from '../env.js';
import { createLogger, withoutCredentials, type Logger } from '../log.js';
import { isSandbox, ListenError, startGateway, type Gateway } from './gateway.js';
import { DataKeyError } from '../store/cipher.js';
import { localRedis, RedisUnavailableError } from './local-redis.js';
import { runChat } from './chat.js';
import { healthProblem, HEALTH_INTERVAL_MS, HEALTH_MAX_AGE_MS, startHealthFile } from './health.js';
import { startTracing } from '../tracing.js';
import { DEAD_LETTERS_USAGE, runDeadLetters } from './dead-letters-cli.js';

/** Everything the command prints goes through here: a URL's credentials never reach the terminal. */
function print(stream: NodeJS.WriteStream, text: string): void {
  stream.write(withoutCredentials(text));
}

/** Errors that are the operator's to fix: printed as they are, no stack trace. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Wrong arguments: one sentence naming what is wrong and where the usage is; exit code 2. */
class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
}

async function loadOrExplain(
  path: string,
  variables: Record<string, string | undefined>,
): Promise<{ config: Config; warnings: ConfigProblem[] }> {
  if (!existsSync(path)) {
    throw new UsageError(
      `No configuration at ${path}. Set SWITCHBOARD_CONFIG to your YAML file or directory, or run "npm start" for the sandbox demo.`,
    );
  }
  return checkConfigFiles({ path, env: variables });
}

/** A command's option, as node:util parseArgs reads it, with the line its help prints. */
type Values = Record<string, string | boolean | undefined>;

interface OptionSpec {
  type: 'string' | 'boolean';
  /** `--name VALUE` in the help: what the value is. */
  value?: string;
  help: string;
}

interface Command {
  /** What follows `switchboard <command>` in its usage line. */
  args: string;
  summary: string;
  /** Lines under the usage line in `--help`. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments it takes (none unless said). */
  positionals?: number;
  /** The command reads its arguments itself (after --help was handled here). */
  ownArguments?: boolean;
  /** Its whole `--help`, when the command writes its own (else built from the fields above). */
  help?: string;
  run(values: Values, positionals: string[], argv: string[]): Promise<number>;
}

const ENVIRONMENT =
  'Environment: REDIS_URL, SWITCHBOARD_CONFIG, SWITCHBOARD_MODE, SWITCHBOARD_DATA_KEY, PORT, SWITCHBOARD_HOST,\nLOG_LEVEL (see README).';

const HEALTH_FILE: OptionSpec = {
  type: 'string',
  value: 'PATH',
  help: `rewrite PATH every ${HEALTH_INTERVAL_MS / 1000} s while Redis answers and the workers run (for "switchboard health --file PATH")`,
};

const gatewayCommand = (summary: string, options: Record<string, OptionSpec>): Omit<Command, 'run'> => ({
  args: Object.entries(options)
    .map(([name, o]) => `[--${name}${o.value ? ` ${o.value}` : ''}]`)
    .join(' '),
  summary,
  details: ENVIRONMENT,
  options,
});

/** Every command: its usage, its options and what runs it. A new command is one entry here. */
const COMMANDS: Record<string, Command> = {
  start: {
    ...gatewayCommand('web server and workers in one process', {
      sandbox: {
        type: 'boolean',
        help: 'the sandbox: the demo bank beside the gateway, no Twilio account (what "npm start" runs)',
      },
      'health-file': HEALTH_FILE,
    }),
    run: (values) => runGateway('start', values),
  },
  serve: {
    ...gatewayCommand('web server only (webhooks, operator API, health, metrics)', {
      'health-file': HEALTH_FILE,
    }),
    run: (values) => runGateway('serve', values),
  },
  worker: {
    ...gatewayCommand('workers only (conversation turns, sends, operator events)', {
      'health-file': HEALTH_FILE,
    }),
    run: (values) => runGateway('worker', values),
  },
  'check-config': {
    args: '[path] [--sandbox] [--strict]',
    summary: 'validate the configuration; exit 1 on any problem',
    details:
      'path defaults to SWITCHBOARD_CONFIG (config/switchboard.yaml). Warnings (an unknown template variable)\nare printed but pass, unless --strict.',
    options: {
      sandbox: { type: 'boolean', help: 'with the variables the sandbox supplies (DEMO_BANK_PORT, …)' },
      strict: { type: 'boolean', help: 'exit 1 on warnings too' },
    },
    positionals: 1,
    run: (values, positionals) => checkConfig(positionals[0], values),
  },
  chat: {
    args: '--bot ID --channel sms|whatsapp|voice --from +E164 [--url URL] [--to +E164]',
    summary: 'talk to a running gateway as Twilio would',
    details:
      '--url defaults to http://127.0.0.1:3000 (or PORT); --to and --public-url are asked of a sandbox gateway.\nAn answer to a secret prompt is not shown as it is typed; on a call, digits are keys and a "quoted line"\nis speech. Ctrl-C or Ctrl-D ends the chat.',
    options: {},
    ownArguments: true,
    run: (_values, _positionals, argv) => runChat(argv),
  },
  'dead-letters': {
    args: 'list|replay <id> [--json] [--limit N] [--cursor C] [--url URL]',
    summary: "the workspace's dead letters: list them, or replay one (SWITCHBOARD_API_KEY)",
    options: {},
    ownArguments: true,
    help: DEAD_LETTERS_USAGE,
    run: (_values, _positionals, argv) =>
      runDeadLetters(argv, {
        out: (text) => print(process.stdout, text),
        err: (text) => print(process.stderr, text),
      }),
  },
  health: {
    args: '[--file PATH] [--max-age SECONDS] [--url URL]',
    summary: 'exit 0 if the process is ready, else 1 with the reason (a container health check)',
    details:
      'With --file: the health file a process started with --health-file PATH keeps fresh (for a worker,\nwhich has no HTTP port). Without: GET /readyz of the web server on this machine.',
    options: {
      file: { type: 'string', value: 'PATH', help: 'the health file to read' },
      'max-age': {
        type: 'string',
        value: 'SECONDS',
        help: `how old the file may be (default ${HEALTH_MAX_AGE_MS / 1000})`,
      },
      url: { type: 'string', value: 'URL', help: 'the readiness URL (default http://127.0.0.1:PORT/readyz)' },
    },
    run: (values) => probeHealth(values),
  },
  help: {
    args: '[command]',
    summary: 'print the usage of every command, or of one',
    options: {},
    positionals: 1,
    run: async (_values, [name]) => {
      if (name === undefined) return (print(process.stdout, `${usage()}\n`), 0);
      print(process.stdout, `${commandHelp(name, commandNamed(name))}\n`);
      return 0;
    },
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => {
    const head = `  ${name} ${c.args}`;
    return head.length < 40 ? `${head.padEnd(40)}${c.summary}` : `${head}\n${' '.repeat(40)}${c.summary}`;
  });
  return `Usage: switchboard <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "switchboard <command> --help" for a command's options.\n${ENVIRONMENT}`;
}

function commandHelp(name: string, command: Command): string {
  if (command.help !== undefined) return command.help;
  const options = Object.entries(command.options).map(([option, o]) => {
    const flag = `  --${option}${o.value ? ` ${o.value}` : ''}`;
    return `${flag.padEnd(24)}${o.help}`;
  });
  options.push(`${'  -h, --help'.padEnd(24)}print this help`);
  return [
    `Usage: switchboard ${name} ${command.args}`,
    '',
    `${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.`,
    ...(command.details ? ['', command.details] : []),
    '',
    'Options:',
    ...options,
  ].join('\n');
}

function commandNamed(name: string): Command {
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command) return command;
  const near = closest(name, Object.keys(COMMANDS));
  throw new ArgumentError(
    `Unknown command "${name}"${near ? ` (did you mean "${near}"?)` : ''}; run "switchboard --help" for the commands.`,
  );
}

/** node:util parseArgs's errors, as one sentence that points at the command's --help. */
function argumentError(name: string, error: unknown): ArgumentError | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  const quoted = /'([^']*)'/.exec((error as Error).message)?.[1] ?? '';
  const help = `run "switchboard ${name} --help" for its options`;
  const option = quoted.split(' ')[0];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ArgumentError(`Unknown option ${quoted} for "switchboard ${name}"; ${help}.`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ArgumentError(`Unexpected argument "${quoted}" for "switchboard ${name}"; ${help}.`);
    default:
      return new ArgumentError(
        `${option ? `Option ${option}` : 'An option'} of "switchboard ${name}" needs a value or takes none; ${help}.`,
      );
  }
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    print(process.stderr, `${usage()}\n`);
    return 2;
  }
  if (name === '--help' || name === '-h') return COMMANDS.help!.run({}, [], []);
  const command = commandNamed(name);
  const wantsHelp = (args: string[]) => {
    const end = args.indexOf('--');
    return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
  };
  if (command.ownArguments) {
    if (wantsHelp(rest)) return (print(process.stdout, `${commandHelp(name, command)}\n`), 0);
    try {
      return await command.run({}, [], rest);
    } catch (error) {
      throw argumentError(name, error) ?? error;
    }
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: (command.positionals ?? 0) > 0,
      strict: true,
    });
  } catch (error) {
    // `start --bogus --help` still prints the help: asking for it wins over a mistake beside it.
    if (wantsHelp(rest)) return (print(process.stdout, `${commandHelp(name, command)}\n`), 0);
    throw argumentError(name, error) ?? error;
  }
  if (parsed.values.help) return (print(process.stdout, `${commandHelp(name, command)}\n`), 0);
  const most = command.positionals ?? 0;
  if (parsed.positionals.length > most) {
    throw new ArgumentError(
      `Unexpected argument "${parsed.positionals[most]}" for "switchboard ${name}"; run "switchboard ${name} --help" for its options.`,
    );
  }
  return command.run(parsed.values as Values, parsed.positionals, rest);
}

/**
 * The variables `start --sandbox` runs with: the demo services' own (started here) over the environment's,
 * when the configuration is one that uses them (it names a `${DEMO_…}` variable, as the demo bank's does);
 * another configuration runs in the sandbox without them. The demo's sign-in provider sends the browser
 * back to the gateway's public URL, so that comes first.
 */
async function sandboxVariables(
  variables: Record<string, string | undefined>,
): Promise<{ close: () => Promise<void>; welcome: string[]; notes: string[] } | undefined> {
  variables.SWITCHBOARD_MODE = 'sandbox';
  variables.SWITCHBOARD_CONFIG ??= 'config/examples/demo-bank.yaml';
  variables.PUBLIC_URL ??= `http://127.0.0.1:${variables.PORT ?? 3000}`;
  if (!usesDemoServices(variables.SWITCHBOARD_CONFIG)) return undefined;
  // Imported only here: other commands and production starts never load the provider library (it warns
  // about Node 20 when loaded).
  const { startDemoServices } = await import('./demo.js');
  const demo = await startDemoServices({ publicUrl: variables.PUBLIC_URL });
  Object.assign(variables, demo.variables);
  return { close: demo.close, welcome: demo.welcome, notes: demo.notes };
}

/** Whether the configuration (a file, or a directory of YAML files) names a variable the demo services supply. */
function usesDemoServices(path: string): boolean {
  try {
    const files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => join(path, f))
      : [path];
    return files.some((file) => /\$\{DEMO_[A-Z_]+\}/.test(readFileSync(file, 'utf8')));
  } catch {
    return false; // no such configuration: loading it says so
  }
}

/** The variables `check-config --sandbox` checks with: the sandbox's own names, without starting its services. */
async function sandboxCheckVariables(variables: Record<string, string | undefined>): Promise<void> {
  variables.SWITCHBOARD_MODE = 'sandbox';
  variables.SWITCHBOARD_CONFIG ??= 'config/examples/demo-bank.yaml';
  variables.PUBLIC_URL ??= `http://127.0.0.1:${variables.PORT ?? 3000}`;
  const { demoVariablesForCheck } = await import('./demo.js');
  Object.assign(variables, demoVariablesForCheck());
}

async function checkConfig(pathArg: string | undefined, values: Values): Promise<number> {
  const variables = configVariables();
  // The sandbox's variables come from the services that supply them, so they are what `start --sandbox` sees.
  if (values.sandbox) await sandboxCheckVariables(variables);
  const path = pathArg ?? readEnv(variables).SWITCHBOARD_CONFIG;
  try {
    const { config, warnings } = await loadOrExplain(path, variables);
    if (warnings.length > 0) {
      print(process.stderr, `${formatProblems(warnings)}\n`);
      print(process.stderr, `${count(warnings.length, 'warning')}.\n`);
    }
    const bots = Object.keys(config.bots);
    if (values.strict && warnings.length > 0) return 1;
    print(process.stdout, `${path}: OK (${count(bots.length, 'bot')}: ${bots.join(', ')})\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    print(process.stderr, `${formatProblems(error.problems)}\n`);
    print(process.stderr, `${count(error.problems.length, 'problem')} found.\n`);
    return 1;
  }
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

async function probeHealth(values: Values): Promise<number> {
  const maxAge = values['max-age'] === undefined ? HEALTH_MAX_AGE_MS / 1000 : Number(values['max-age']);
  if (!Number.isFinite(maxAge) || maxAge <= 0) {
    throw new ArgumentError(`--max-age must be a number of seconds, not "${String(values['max-age'])}".`);
  }
  const port = readEnv().PORT ?? 3000;
  const problem = await healthProblem({
    ...(typeof values.file === 'string' ? { file: values.file } : {}),
    maxAgeMs: maxAge * 1000,
    url: typeof values.url === 'string' ? values.url : `http://127.0.0.1:${port}/readyz`,
  });
  if (problem === undefined) return 0;
  print(process.stderr, `${problem}\n`);
  return 1;
}

async function runGateway(command: 'start' | 'serve' | 'worker', values: Values): Promise<number> {
  const variables = configVariables();
  let stopDemo: (() => Promise<void>) | undefined;
  let demoWelcome: string[] = [];
  let demoNotes: string[] = [];
  let stopRedis: (() => Promise<void>) | undefined;
  let stopHealth: (() => Promise<void>) | undefined;
  let stopTracing: () => Promise<void> = async () => undefined;
  const signals = new Signals(
    () => loadConfig({ path: readEnv(variables).SWITCHBOARD_CONFIG, env: { ...process.env, ...variables } }),
    async () => {
      await stopHealth?.();
      await stopDemo?.();
      await stopRedis?.();
      await stopTracing(); // the spans of the last turns are sent before the process exits
    },
  );
  if (values.sandbox) {
    // `npm start`: the example bank with its demo auth service and API beside it, no Twilio account needed.
    const demo = await sandboxVariables(variables);
    stopDemo = demo?.close;
    demoWelcome = demo?.welcome ?? [];
    demoNotes = demo?.notes ?? [];
  }
  const env = readEnv(variables);
  const logger = createLogger({
    level: env.LOG_LEVEL,
    ...(env.LOG_FORMAT ? { format: env.LOG_FORMAT } : {}),
  });
  const tracing = await startTracing(env, logger);
  stopTracing = () => tracing.shutdown();

  const { config, warnings } = await loadOrExplain(env.SWITCHBOARD_CONFIG, variables);
  for (const warning of warnings)
    logger.warn('configuration warning', { problem: formatProblems([warning]) });

  // With a cluster or sentinels, REDIS_URL gives only credentials: there is no address to probe or stand in for.
  if (command === 'start' && !env.REDIS_CLUSTER_NODES && !env.REDIS_SENTINELS) {
    const sandbox = isSandbox(env, config);
    const redis = await localRedis(
      env.REDIS_URL,
      { sandbox, mayStart: sandbox && env.SWITCHBOARD_REDIS_SERVER },
      logger,
    );
    env.REDIS_URL = redis.url;
    stopRedis = redis.stop;
  }

  const gateway = await startGateway({
    env,
    config,
    logger,
    roles: { web: command !== 'worker', workers: command !== 'serve' },
    ...(demoNotes.length ? { simulatorNotes: demoNotes } : {}),
    ...(env.PORT !== undefined ? { port: env.PORT } : {}),
  });
  if (typeof values['health-file'] === 'string') {
    stopHealth = await startHealthFile(values['health-file'], () => gateway.ready());
  }
  if (values.sandbox) printSandboxWelcome(gateway, env, config, demoWelcome);
  signals.ready(gateway, logger, env.SWITCHBOARD_SHUTDOWN_MS);
  return signals.finished;
}

/** `demo`: what the demo services say about themselves (the demo bank's sign-in and accounts). */
function printSandboxWelcome(gateway: Gateway, env: Env, config: Config, demo: string[]) {
  const host = gateway.host ?? '127.0.0.1';
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const base = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${gateway.port}`;
  const where =
    host === '127.0.0.1' || host === '::1' || host === 'localhost'
      ? `  Listening on ${host} only (set SWITCHBOARD_HOST=0.0.0.0 to reach it from other machines).`
      : `  Listening on ${host}: the sandbox's simulator, outbox and demo API key are reachable from the network.`;
  // What the loaded configuration has: its bots and their numbers, and how to talk to the first one.
  const bots = Object.entries(config.bots).map(([id, bot]) => {
    const numbers = Object.entries(bot.numbers as Record<string, string[]>)
      .filter(([, list]) => list.length > 0)
      .map(([channel, list]) => `${channel} ${list.join(', ')}`);
    return {
      id,
      numbers: bot.numbers as Record<string, string[]>,
      line: `${id} (${numbers.join('; ') || 'no numbers'})`,
    };
  });
  const first = bots[0];
  const channel = first
    ? (['whatsapp', 'sms', 'voice'] as const).find((c) => (first.numbers[c]?.length ?? 0) > 0)
    : undefined;
  const workspace = first ? config.workspaces[config.bots[first.id]!.workspace] : undefined;
  const apiKey = workspace?.apiKeys[0];
  print(
    process.stderr,
    [
      '',
      `  Switchboard sandbox is running at ${base}`,
      where,
      `  Simulator:  ${base}/simulator`,
      `  Bots:       ${bots.map((b) => b.line).join('; ') || 'none configured'}`,
      ...(first && channel
        ? [
            `  Chat:       node dist/src/main/cli.js chat --bot ${first.id} --channel ${channel} --from +15551230000 --url ${base}`,
          ]
        : []),
      // The sandbox's own key is shown (the demo's, or the one the configuration gives the sandbox).
      ...(apiKey
        ? [
            `  Operator:   ${base}/v1 with the header "Authorization: Bearer ${apiKey}" (docs/operator-api.md)`,
          ]
        : []),
      ...demo.map((line) => `  ${line}`),
      `  Config:     ${env.SWITCHBOARD_CONFIG}`,
      '',
    ].join('\n') + '\n',
  );
}

/**
 * Signals, listened to from the moment the process starts (so a SIGTERM that arrives while it is still
 * starting stops it cleanly once it is up, instead of killing it halfway).
 */
class Signals {
  private gateway: Gateway | undefined;
  private deadlineMs = 20_000;
  private requested: string | undefined;
  private stopping = false;
  private done!: (code: number) => void;
  readonly finished = new Promise<number>((resolve) => (this.done = resolve));

  constructor(
    private readonly reloadConfig: () => Promise<Config>,
    private readonly after: () => Promise<void>,
    private logger?: Logger,
  ) {
    process.on('SIGTERM', () => this.stop('SIGTERM'));
    process.on('SIGINT', () => this.stop('SIGINT'));
    process.on('SIGHUP', () => this.reload());
  }

  /** `deadlineMs`: how long a stop may take (Redis away, a turn stuck) before the process exits anyway. */
  ready(gateway: Gateway, logger: Logger, deadlineMs: number): void {
    this.gateway = gateway;
    this.logger = logger;
    this.deadlineMs = deadlineMs;
    if (this.requested) this.stop(this.requested);
  }

  private stop(signal: string): void {
    if (!this.gateway) {
      this.requested = signal;
      return;
    }
    if (this.stopping) return;
    this.stopping = true;
    const gateway = this.gateway;
    this.logger?.info('stopping: finishing turns in flight', { signal });
    // A turn left unfinished at the deadline is not lost: its lock expires and another worker takes it over.
    const deadline = setTimeout(() => {
      const left = gateway.unfinished();
      this.logger?.error(
        left.jobs > 0
          ? 'stopping took too long; exiting with turns unfinished (other workers take them over)'
          : left.requests > 0
            ? 'stopping took too long; exiting with requests unanswered'
            : 'stopping took too long; exiting with nothing in flight (Redis or a connection did not close)',
        { deadlineMs: this.deadlineMs, ...left },
      );
      this.done(1);
    }, this.deadlineMs);
    deadline.unref();
    gateway
      .close()
      .then(this.after)
      .then(
        () => {
          clearTimeout(deadline);
          this.done(0);
        },
        (error: unknown) => {
          clearTimeout(deadline);
          this.logger?.error('error while stopping', {
            reason: error instanceof Error ? error.message : String(error),
          });
          this.done(1);
        },
      );
  }

  private reload(): void {
    const gateway = this.gateway;
    if (!gateway) return; // still starting: the configuration being loaded is already the newest
    this.reloadConfig()
      .then((config) => gateway.reload(config))
      .catch((error: unknown) => {
        const detail = error instanceof ConfigError ? formatProblems(error.problems) : String(error);
        this.logger?.error('configuration reload refused; keeping the running configuration', {
          problems: detail,
        });
      });
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ArgumentError) {
      print(process.stderr, `${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof ConfigError) {
      print(process.stderr, `Invalid configuration:\n${formatProblems(error.problems)}\n`);
    } else if (
      error instanceof UsageError ||
      error instanceof EnvError ||
      error instanceof DataKeyError ||
      error instanceof ListenError ||
      error instanceof RedisUnavailableError
    ) {
      print(process.stderr, `${error.message}\n`);
    } else {
      // Our own bug: one line; the stack trace only when asked for (LOG_LEVEL=debug).
      const debug = process.env.LOG_LEVEL === 'debug' && error instanceof Error;
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      print(process.stderr, `switchboard: ${debug ? error.stack : message}\n`);
    }
    process.exit(1);
  },
);
