// The integration test harness, the one entry point of every test that runs a gateway: a config on disk,
// a fresh key prefix, a fake Twilio API, the gateway in process, worker processes on demand, signed
// webhooks, the turns its workers finish, and a cleanup that leaves Redis as it found it.
import { freePort } from '../../src/main/local-redis.js';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ChannelAdapter } from '../../channels/index.js';
import type { Clock } from '../../src/core/ports/clock.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { readEnv, type Env } from '../../src/env.js';
import type { Logger } from '../../src/log.js';
import { startGateway, type Gateway } from '../../src/main/gateway.js';
import { keyNaming, namingKeyFrom } from '../../src/store/key-naming.js';
import { Keys } from '../../src/store/keys.js';
import { startFakeTwilioApi, type FakeTwilioApi } from '../fakes/twilio-api.js';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  configVariables,
  dataKey,
  testConfigYaml,
  writeConfigDirectory,
  writeConfigFile,
} from './config.js';
import { captureLogs, type LogCollector } from './logs.js';
import { spawnSwitchboard, type SwitchboardProcess } from './processes.js';
import { TurnRecorder, type FinishedTurn } from './turns.js';
import { TwilioWebhookClient } from './webhooks.js';

export interface HarnessOptions {
  /** The `bots:` section of the configuration (see `botYaml`). */
  bots?: string;
  /** The test workspace's allowHosts (left out of the file when not given: the workspace lists none). */
  allowHosts?: string[];
  /**
   * Instead of `bots`: the files of a configuration directory (merged as SWITCHBOARD_CONFIG does),
   * given the fake Twilio API's URL; the `${NAME}`s they need beyond the test's own go in `env`.
   */
  files?: (twilioApiUrl: string) => Record<string, string>;
  /**
   * Changes the configuration after it was loaded and validated, before the gateway starts: how a test
   * reaches the run-time guards behind what check-config already refuses.
   */
  adjust?: (config: Config) => void;
  /** Roles of the gateway started in this process; `false` starts none (start them later). */
  gateway?: { web: boolean; workers: boolean } | false;
  /** More environment for the gateway and the worker processes (SWITCHBOARD_LOCK_MS, …). */
  env?: Record<string, string>;
  /** Another Redis than the suite's (a private one a test may stop). */
  redisUrl?: string;
  /** No twilio section: sandbox mode, replies recorded in Redis instead of the fake API. */
  sandbox?: boolean;
  /** What the simulator page of the in-process gateways suggests trying (the demo's accounts). */
  simulatorNotes?: readonly string[];
  logLevel?: string;
  /** A name for the key prefix, to tell tests apart when reading a busy Redis. */
  label?: string;
  /** Channels the in-process gateways serve beside the built-in ones (a test's own channel). */
  channels?: ChannelAdapter[];
  /**
   * The clock of the in-process gateways (see `manualClock`): how a test lets a lockout, a session or a
   * rate-limit minute pass without waiting. Spawned processes keep the system clock.
   */
  clock?: Clock;
  /**
   * The gateway's public URL is the main gateway's own loopback address, so a browser can follow the links
   * it sends (sign-in links): on this port (see `freePort`), or one reserved before the configuration loads.
   */
  loopbackPublicUrl?: boolean | number;
}

/** A free loopback port, for a server that must know its URL before it starts (see `freePort` itself). */
export { freePort };

/** A dead-lettered turn as the conversation worker records it. */
export interface DeadLetter {
  cid: string;
  eventId: string;
  reason: string;
  at: number;
  sealedEvent: string;
}

export interface RunningGateway {
  gateway: Gateway;
  /** The logger the gateway writes to, for collaborators a test runs beside it; its lines land in `logs`. */
  logger: Logger;
  logs: LogCollector;
  /** The turns this gateway's workers finished. */
  turns: TurnRecorder;
  /** http://127.0.0.1:PORT when it has the web role. */
  url: string | undefined;
  close(): Promise<void>;
}

export interface Harness {
  readonly prefix: string;
  readonly keys: Keys;
  /** The variables a `switchboard` process of this test gets (REDIS_URL, SWITCHBOARD_*, secrets). */
  readonly processEnv: Record<string, string>;
  readonly env: Env;
  readonly config: Config;
  readonly configPath: string;
  /** The fake Twilio REST API (absent in sandbox mode). */
  readonly twilio: FakeTwilioApi;
  /** The gateway started in this process, if any. */
  readonly main: RunningGateway | undefined;
  /** Signs and posts webhooks to the main gateway. */
  readonly webhooks: TwilioWebhookClient;
  /** A plain connection for assertions on keys. */
  readonly redis: Redis;
  /** The turns every gateway of this harness in this process finished (not those of spawned workers). */
  readonly turns: TurnRecorder;
  /** The turn of one provider id once an in-process worker finished it, handled or dead-lettered. */
  waitForTurn(eventId: string, timeoutMs?: number): Promise<FinishedTurn>;
  /** The turn of one provider id once handled; fails at once if it was dead-lettered. */
  handled(eventId: string, timeoutMs?: number): Promise<FinishedTurn>;
  /** The conversation id of a bot and a channel identity (`sms:+1…`). */
  conversation(botId: string, identity: string): string;
  /** The conversation id of one voice call (`voice:+1…` and its CallSid). */
  callConversation(botId: string, identity: string, callSid: string): string;
  /**
   * Starts another gateway in this process (for example the workers, later in a test); `env` changes
   * its environment (other data keys, …). The harness's close stops it too.
   */
  startGateway(
    roles: { web: boolean; workers: boolean },
    name?: string,
    env?: Partial<Env>,
  ): Promise<RunningGateway>;
  /** Spawns `switchboard worker` (or serve) with this test's environment plus `env`. */
  spawn(
    command: 'worker' | 'serve',
    name?: string,
    env?: Record<string, string>,
  ): Promise<SwitchboardProcess>;
  deadLetters(): Promise<DeadLetter[]>;
  /** Stops everything this harness started and deletes every key under its prefix. */
  close(): Promise<void>;
}

export function randomPrefix(label = 't'): string {
  return `${label.replace(/[^A-Za-z0-9_-]/g, '-')}-${randomBytes(6).toString('hex')}`;
}

/** Deletes every key under `prefix:` (SCAN, so a shared Redis is not blocked). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/**
 * The key names a gateway gives a fresh prefix: it derives its key-naming key from the data key it
 * starts with (and keeps it in Redis, so later data keys change nothing).
 */
export function keysFor(prefix: string, dataKey: string): Keys {
  return new Keys(prefix, keyNaming(namingKeyFrom(dataKey)));
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const prefix = randomPrefix(options.label);
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  try {
    const twilio = await startFakeTwilioApi({ [ACCOUNT_SID]: AUTH_TOKEN });
    cleanups.push(() => twilio.close());
    const file = options.files
      ? await writeConfigDirectory(options.files(twilio.url))
      : await writeConfigFile(
          testConfigYaml({
            bots: options.bots ?? '',
            ...(options.sandbox ? {} : { twilioApiUrl: twilio.url }),
            ...(options.allowHosts ? { allowHosts: options.allowHosts } : {}),
          }),
        );
    cleanups.push(file.remove);

    const mainPort =
      typeof options.loopbackPublicUrl === 'number'
        ? options.loopbackPublicUrl
        : options.loopbackPublicUrl
          ? await freePort()
          : 0;
    const processEnv: Record<string, string> = {
      ...configVariables(),
      ...(options.loopbackPublicUrl ? { PUBLIC_URL: `http://127.0.0.1:${mainPort}` } : {}),
      REDIS_URL: redisUrl,
      SWITCHBOARD_CONFIG: file.path,
      SWITCHBOARD_KEY_PREFIX: prefix,
      SWITCHBOARD_DATA_KEY: dataKey(),
      SWITCHBOARD_MODE: options.sandbox ? 'sandbox' : 'production',
      SWITCHBOARD_SANDBOX_AUTH_TOKEN: AUTH_TOKEN,
      SWITCHBOARD_RETRY_BASE_MS: '20',
      SWITCHBOARD_REDIS_SERVER: 'false',
      LOG_LEVEL: options.logLevel ?? 'info',
      ...options.env,
    };
    const env = readEnv(processEnv);
    const config = await loadConfig({ path: file.path, env: processEnv });
    options.adjust?.(config);
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => undefined); // a test may stop its private Redis on purpose
    await redis.connect();
    const keys = keysFor(prefix, processEnv.SWITCHBOARD_DATA_KEY!);

    const gateways: RunningGateway[] = [];
    const children: SwitchboardProcess[] = [];
    const turns = new TurnRecorder('turns');

    async function startInProcess(
      roles: { web: boolean; workers: boolean },
      name: string,
      more = {},
      port = 0,
    ) {
      const { logger, logs } = captureLogs(env.LOG_LEVEL, name);
      const gateway = await startGateway({
        env: { ...env, ...more },
        config,
        logger,
        roles,
        port,
        ...(options.channels ? { channels: options.channels } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.simulatorNotes ? { simulatorNotes: options.simulatorNotes } : {}),
      });
      const own = new TurnRecorder(`${name} turns`);
      own.follow(gateway);
      turns.follow(gateway);
      let closed = false;
      const running: RunningGateway = {
        gateway,
        logger,
        logs,
        turns: own,
        url: gateway.port === undefined ? undefined : `http://127.0.0.1:${gateway.port}`,
        async close() {
          if (closed) return;
          closed = true;
          await gateway.close();
        },
      };
      gateways.push(running);
      return running;
    }

    const main =
      options.gateway === false
        ? undefined
        : await startInProcess(options.gateway ?? { web: true, workers: true }, 'gateway', {}, mainPort);

    let closed = false;
    return {
      prefix,
      keys,
      processEnv,
      env,
      config,
      configPath: file.path,
      twilio,
      main,
      webhooks: new TwilioWebhookClient(main?.url ?? 'http://127.0.0.1:1', processEnv.PUBLIC_URL),
      redis,
      turns,
      waitForTurn: (eventId, timeoutMs) => turns.turn(eventId, timeoutMs),
      handled: (eventId, timeoutMs) => turns.handled(eventId, timeoutMs),
      conversation: (botId, identity) => keys.conversationId(botId, identity),
      callConversation: (botId, identity, callSid) => keys.callConversationId(botId, identity, callSid),
      startGateway: (roles, name = roles.web ? 'web' : 'workers', more) => startInProcess(roles, name, more),
      async spawn(command, name = command, extra = {}) {
        const child = await spawnSwitchboard(command, { ...processEnv, ...extra }, name);
        children.push(child);
        return child;
      },
      async deadLetters() {
        const raw = await redis.lrange(keys.deadLetters(), 0, -1);
        return raw.map((r) => JSON.parse(r) as DeadLetter);
      },
      async close() {
        if (closed) return;
        closed = true;
        // Workers first (SIGTERM lets them finish turns in flight), then the in-process gateways.
        await Promise.all(children.map((c) => c.stop('SIGTERM')));
        for (const g of gateways.reverse()) await g.close();
        if (redis.status === 'ready') await deletePrefix(redis, prefix);
        redis.disconnect();
        for (const cleanup of cleanups.reverse()) await cleanup();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    throw error;
  }
}
