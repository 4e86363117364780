#!/usr/bin/env node
// The `switchboard` command: start, serve, worker, check-config, chat and dead-letters.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, formatProblems, loadConfig, type Config } from '../config/index.js';
import { configVariables, EnvError, readEnv, type Env } from '../env.js';
import { createLogger, withoutCredentials, type Logger } from '../log.js';
import { isSandbox, ListenError, startGateway, type Gateway } from './gateway.js';
import { DataKeyError } from '../store/cipher.js';
import { localRedis, RedisUnavailableError } from './local-redis.js';
import { runChat } from './chat.js';
import { runDeadLetters } from './dead-letters-cli.js';
import { startDemoServices } from './demo.js';

const USAGE = `Usage: switchboard <command> [options]

Commands:
  start [--sandbox]          web server and workers in one process
  serve                      web server only (webhooks, operator API, health, metrics)
  worker                     workers only
  check-config [path]        validate the configuration; exit 1 on any problem
  chat --bot ID --channel sms|whatsapp|voice --from +E164 [--url http://127.0.0.1:3000]
                             talk to a running gateway as Twilio would
  dead-letters list|replay <id>
                             the workspace's dead letters (SWITCHBOARD_API_KEY); see dead-letters --help

Environment: REDIS_URL, SWITCHBOARD_CONFIG, SWITCHBOARD_MODE, SWITCHBOARD_DATA_KEY, PORT, SWITCHBOARD_HOST,
LOG_LEVEL (see README).`;

/** Everything the command prints goes through here: a URL's credentials never reach the terminal. */
function print(stream: NodeJS.WriteStream, text: string): void {
  stream.write(withoutCredentials(text));
}

/** Errors that are the operator's to fix: printed as they are, no stack trace. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

async function loadOrExplain(path: string, variables: Record<string, string | undefined>): Promise<Config> {
  if (!existsSync(path)) {
    throw new UsageError(
      `No configuration at ${path}. Set SWITCHBOARD_CONFIG to your YAML file or directory, or run "npm start" for the sandbox demo.`,
    );
  }
  return loadConfig({ path, env: variables });
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    print(process.stdout, `${USAGE}\n`);
    return command ? 0 : 1;
  }

  if (command === 'check-config') {
    const env = readEnv();
    const path = rest[0] ?? env.SWITCHBOARD_CONFIG;
    try {
      const config = await loadOrExplain(path, configVariables());
      const bots = Object.keys(config.bots);
      print(
        process.stdout,
        `${path}: OK (${bots.length} bot${bots.length === 1 ? '' : 's'}: ${bots.join(', ')})\n`,
      );
      return 0;
    } catch (error) {
      if (error instanceof ConfigError) {
        print(process.stderr, `${formatProblems(error.problems)}\n`);
        print(
          process.stderr,
          `${error.problems.length} problem${error.problems.length === 1 ? '' : 's'} found.\n`,
        );
        return 1;
      }
      throw error;
    }
  }

  if (command === 'chat') return runChat(rest);
  if (command === 'dead-letters') {
    return runDeadLetters(rest, {
      out: (text) => print(process.stdout, text),
      err: (text) => print(process.stderr, text),
    });
  }

  if (command !== 'start' && command !== 'serve' && command !== 'worker') {
    throw new UsageError(`Unknown command "${command}".\n\n${USAGE}`);
  }
  const { values } = parseArgs({ args: rest, options: { sandbox: { type: 'boolean', default: false } } });
  const variables = configVariables();
  let stopDemo: (() => Promise<void>) | undefined;
  let stopRedis: (() => Promise<void>) | undefined;
  const signals = new Signals(
    () => loadConfig({ path: readEnv(variables).SWITCHBOARD_CONFIG, env: { ...process.env, ...variables } }),
    async () => {
      await stopDemo?.();
      await stopRedis?.();
    },
  );
  if (values.sandbox) {
    // `npm start`: the example bank with its demo auth service and API beside it, no Twilio account needed.
    variables.SWITCHBOARD_MODE = 'sandbox';
    variables.SWITCHBOARD_CONFIG ??= 'config/examples/demo-bank.yaml';
    const demo = await startDemoServices();
    stopDemo = demo.close;
    Object.assign(variables, demo.variables);
    variables.PUBLIC_URL ??= `http://127.0.0.1:${variables.PORT ?? 3000}`;
  }
  const env = readEnv(variables);
  const logger = createLogger({ level: env.LOG_LEVEL });

  const config = await loadOrExplain(env.SWITCHBOARD_CONFIG, variables);

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
    ...(env.PORT !== undefined ? { port: env.PORT } : {}),
  });
  if (values.sandbox) printSandboxWelcome(gateway, env);
  signals.ready(gateway, logger, env.SWITCHBOARD_SHUTDOWN_MS);
  return signals.finished;
}

function printSandboxWelcome(gateway: Gateway, env: Env) {
  const host = gateway.host ?? '127.0.0.1';
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const base = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${gateway.port}`;
  const where =
    host === '127.0.0.1' || host === '::1' || host === 'localhost'
      ? `  Listening on ${host} only (set SWITCHBOARD_HOST=0.0.0.0 to reach it from other machines).`
      : `  Listening on ${host}: the sandbox's simulator, outbox and demo API key are reachable from the network.`;
  print(
    process.stderr,
    [
      '',
      `  Switchboard sandbox is running at ${base}`,
      where,
      `  Simulator:  ${base}/simulator`,
      `  Chat:       node dist/src/main/cli.js chat --bot demo-bank --channel whatsapp --from +15551230000 --url ${base}`,
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
      print(
        process.stderr,
        `switchboard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exit(1);
  },
);
