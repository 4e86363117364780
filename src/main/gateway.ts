// The composition root: builds the web server and workers from the environment and configuration.
import { EventEmitter } from 'node:events';
import type { Server, ServerResponse } from 'node:http';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Worker } from 'bullmq';
import type { Config } from '../config/index.js';
import { DialogEngine } from '../core/dialog.js';
import { Templates } from '../core/templates.js';
import { systemClock } from './system-clock.js';
import type { Env } from '../env.js';
import { answerClientError, createApp } from '../http/app.js';
import { sandboxRouter } from '../http/sandbox.js';
import { sandboxUserLookup, simulatorRouter } from '../http/simulator/router.js';
import { operatorApiRouter } from '../http/operator-api.js';
import { identityOf, type Channel } from '../core/events.js';
import { createEventWorker, QueuedEventSink, type ErasedSubject, type EventSink } from '../operator-events/index.js';
import { LinkCodes } from '../identity/index.js';
import { IdentityStore } from '../store/identity-store.js';
import { LinkCodeStore } from '../store/link-code-store.js';
import { Lockout } from '../store/lockout.js';
import { RedisTokenStore } from '../store/token-store.js';
import { IdentityKeys } from '../store/identity-keys.js';
import { identityServices } from '../turn/identity-services.js';
import { StatusRecorder } from '../http/status-recorder.js';
import { webhookRouter } from '../http/webhooks.js';
import type { Logger } from '../log.js';
import { createMetrics } from '../metrics.js';
import {
  ChannelRegistry,
  hasProviderAccounts,
  providerSender,
  SandboxRecorder,
  type ChannelAdapter,
  type MessageSender,
} from '../../channels/index.js';
import { createConversationWorker, type FinishedTurn } from '../queue/conversation-worker.js';
import { Queues } from '../queue/queues.js';
import { createSendWorker } from '../queue/send-worker.js';
import { jobsInFlight } from '../queue/reclaim.js';
import { TurnWaiter } from '../queue/turn-waiter.js';
import { createDataCipher, DataKeyError, SANDBOX_DATA_KEY } from '../store/cipher.js';
import { keyHolders } from '../store/connections.js';
import { ConversationStore } from '../store/conversation-store.js';
import { eraseConversations } from '../store/erasure.js';
import type { Durability } from '../store/durability.js';
import { Keys } from '../store/keys.js';
import { FixedWindowLimiter } from '../store/rate-limiter.js';
import { migrateLegacyNames } from '../store/key-migration.js';
import { loadKeyNaming } from '../store/key-naming.js';
import { Directory } from '../config/directory.js';
import { createOutboundClient } from '../net/outbound.js';
import type { TurnServiceDeps } from '../turn/turn-services.js';

export interface GatewayOptions {
  env: Env;
  config: Config;
  logger: Logger;
  /** `web`: webhooks, API, health, metrics. `workers`: the conversation and send workers. */
  roles: { web: boolean; workers: boolean };
  /** Overrides `server.port` (0 picks a free port). */
  port?: number;
  /** Channels served beside the built-in ones (a test's, a plug-in's): this gateway's alone. */
  channels?: readonly ChannelAdapter[];
}

export interface Gateway {
  readonly sandbox: boolean;
  readonly port: number | undefined;
  /** The address the web server listens on (undefined without the web role). */
  readonly host: string | undefined;
  readonly keys: Keys;
  /** Emits `turn` for every turn this process's workers finish (never without the workers role). */
  readonly turns: EventEmitter<{ turn: [FinishedTurn] }>;
  /** Swaps in a new configuration; conversations in flight carry on. */
  reload(config: Config): void;
  /** Stops taking webhooks, finishes requests and turns in flight, closes connections. */
  close(): Promise<void>;
  /** What a stop is still waiting for (requests answering, jobs running), for the log. */
  unfinished(): { requests: number; jobs: number };
}

/** The web server could not listen: a message for the operator, no stack trace. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

export function isSandbox(env: Env, config: Config): boolean {
  if (env.SWITCHBOARD_MODE) return env.SWITCHBOARD_MODE === 'sandbox';
  return !hasProviderAccounts(config);
}

/** Milliseconds between a cluster client's retries of a command during a failover. */
const CLUSTER_RETRY_DELAY_MS = 200;

/**
 * How a cluster client rides out a failover. A master's replica is promoted once the other masters
 * have found it unreachable for `cluster-node-timeout` and an election has run (about as long again at
 * most), meanwhile its slots answer nothing and, with full coverage required, the rest CLUSTERDOWN.
 * Every retry counts as a redirection, so enough of them are allowed to span twice the node timeout
 * plus five seconds; ioredis's defaults (16 × 100 ms) gave up after 1.6 s.
 */
function clusterRetryOptions(nodeTimeoutMs: number) {
  return {
    retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
    maxRedirections: Math.ceil((2 * nodeTimeoutMs + 5000) / CLUSTER_RETRY_DELAY_MS),
  };
}

/**
 * Redis Cluster: the nodes listed are where discovery starts; REDIS_URL gives only the user, password and
 * TLS. The per-connection options go where `Cluster` reads them: the offline queue and auto-pipelining are
 * the cluster's own, the rest apply to each node's connection.
 */
function connectCluster(env: Env, name: string, options: RedisOptions): Redis {
  const url = new URL(env.REDIS_URL);
  const { enableOfflineQueue, enableAutoPipelining, ...perNode } = options;
  const cluster = new Cluster(
    env.REDIS_CLUSTER_NODES!.split(',').map((pair) => {
      const [host, port] = pair.split(':');
      return { host: host!, port: Number(port) };
    }),
    {
      ...clusterRetryOptions(env.REDIS_CLUSTER_NODE_TIMEOUT_MS),
      ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
      ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
      redisOptions: {
        ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
        ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
        connectionName: name,
        ...perNode,
      },
    },
  );
  // The one place a Cluster passes for a Redis. Sound because the rest of the code only uses what
  // `Cluster` implements with the same signatures (both are ioredis `Commander`s): single-key commands,
  // multi-key commands, MULTIs, pipelines and `defineCommand` scripts whose keys share one hash tag,
  // SUBSCRIBE with the 'message' event, `status`, the 'ready' and 'error' events, `quit` and `disconnect`;
  // BullMQ tells a Cluster apart by its `isCluster` at run time. SCAN is the exception (a cluster runs it
  // on one node): `keyHolders` hands out every master for it.
  return cluster as unknown as Redis;
}

/** Each workspace's bots: where the start-up migration looks for a user's workspace and an identity's conversations. */
function botsByWorkspace(config: Config): Map<string, string[]> {
  const map = new Map<string, string[]>(Object.keys(config.workspaces).map((w) => [w, []]));
  for (const [id, bot] of Object.entries(config.bots))
    map.set(bot.workspace, [...(map.get(bot.workspace) ?? []), id]);
  return map;
}

/**
 * SWITCHBOARD_DURABILITY: how many replicas must hold a write before it counts: an accepted message
 * before its webhook answers 200, a turn's commit, a sent reply's removal, history lines.
 */
function durability(env: Env): Durability {
  return env.SWITCHBOARD_DURABILITY === 'replica'
    ? { replicas: 1, timeoutMs: env.SWITCHBOARD_DURABILITY_TIMEOUT_MS }
    : { replicas: 0, timeoutMs: 0 };
}

/** Every connection gets its own role name in CLIENT LIST, which helps when reading a busy Redis. */
function connect(env: Env, name: string, options: RedisOptions, logger: Logger): Redis {
  let redis: Redis;
  if (env.REDIS_CLUSTER_NODES) {
    redis = connectCluster(env, name, options);
  } else if (env.REDIS_SENTINELS) {
    // Sentinel: the sentinels name the primary; REDIS_URL still carries the password and database.
    const url = new URL(env.REDIS_URL);
    redis = new Redis({
      sentinels: env.REDIS_SENTINELS.split(',').map((pair) => {
        const [host, port] = pair.split(':');
        return { host: host!, port: Number(port) };
      }),
      name: env.REDIS_SENTINEL_NAME,
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      db: Number(url.pathname.slice(1) || 0),
      connectionName: name,
      ...options,
    });
  } else {
    redis = new Redis(env.REDIS_URL, { connectionName: name, ...options });
  }
  let down = false;
  redis.on('error', (error) => {
    if (!down) logger.error('Redis connection error', { connection: name, reason: error.message });
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('Redis connection restored', { connection: name });
    down = false;
  });
  return redis;
}

/**
 * Resolves once the connection is ready, or after `ms`. The web connection has no offline queue (so an
 * outage answers 503 at once), which would also refuse every webhook in the moments before it connects.
 */
function readyWithin(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once('ready', done);
  });
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const { env, logger } = opts;
  const sandbox = isSandbox(env, opts.config);
  const channels = new ChannelRegistry(opts.channels);

  const dataKey = env.SWITCHBOARD_DATA_KEY ?? (sandbox ? SANDBOX_DATA_KEY : undefined);
  if (!dataKey) {
    throw new DataKeyError(
      'SWITCHBOARD_DATA_KEY is not set. Outside sandbox mode Switchboard encrypts tokens and message text at rest ' +
        'and will not start without a key. Make one with: openssl rand -base64 32',
    );
  }
  const oldKeys = (env.SWITCHBOARD_DATA_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const cipher = createDataCipher(dataKey, oldKeys);
  if (sandbox && !env.SWITCHBOARD_DATA_KEY) logger.warn('sandbox mode: using the built-in sandbox data key');

  let directory = new Directory(
    opts.config,
    sandbox ? { authToken: env.SWITCHBOARD_SANDBOX_AUTH_TOKEN } : undefined,
  );
  const currentDirectory = () => directory;

  // Webhooks fail fast when Redis is away (503, so the provider retries); workers wait for it to come back.
  // Auto-pipelining sends the commands of concurrent webhooks in one write: a write per command made
  // socket writes the largest cost of a webhook (bench/webhook.bench.ts, docs/architecture.md).
  const web = connect(
    env,
    'switchboard:web',
    { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true },
    logger,
  );
  const work = connect(env, 'switchboard:work', { maxRetriesPerRequest: null }, logger);
  const connections: Redis[] = [web, work];

  // Key names are keyed hashes: the key that names them is read (or made) before anything is named.
  await readyWithin(work, 5000);
  if (work.status !== 'ready')
    logger.warn('waiting for Redis: key names need the key-naming record kept there');
  let keys: Keys;
  let identityKeys: IdentityKeys;
  try {
    keys = new Keys(
      env.SWITCHBOARD_KEY_PREFIX,
      await loadKeyNaming(work, env.SWITCHBOARD_KEY_PREFIX, cipher, dataKey),
    );
    identityKeys = new IdentityKeys(keys);
    const moved = await migrateLegacyNames({
      redis: work,
      nodes: keyHolders(work),
      keys,
      identityKeys,
      cipher,
      workspaces: botsByWorkspace(opts.config),
    });
    // Unknown records: sealed under a lost key, of a workspace no longer configured, or named by another key-naming key.
    const level = moved.unknown > 0 ? 'warn' : 'info';
    if (moved.ran) logger[level]('key names checked for the unkeyed names of earlier versions', { ...moved });
  } catch (error) {
    for (const c of connections) c.disconnect();
    throw error;
  }

  const queuesForWeb = new Queues(web, keys, env.SWITCHBOARD_QUEUE_SHARDS);
  const queuesForWork = new Queues(work, keys, env.SWITCHBOARD_QUEUE_SHARDS);
  const metrics = createMetrics(() => queuesForWeb.depth());
  const webStore = new ConversationStore(web, keys, cipher, durability(env));
  const workStore = new ConversationStore(work, keys, cipher, durability(env));
  const recorder = sandbox ? new SandboxRecorder(work, keys) : undefined;

  // Identity, tokens and operator events: one set per connection (workers wait for Redis, the web fails fast).
  const onErase = async ({ workspace, scope, identities }: ErasedSubject & { identities: string[] }) => {
    const bots = Object.entries(directory.config.bots).filter(([, bot]) => bot.workspace === workspace);
    const cids = new Set<string>();
    for (const identity of identities) {
      for (const [botId] of bots) cids.add(keys.conversationId(botId, identity));
    }
    const { deadLetters } = await eraseConversations(work, workStore, cids);
    if (deadLetters > 0)
      logger.info('dead letters of an erased user removed', { workspace, removed: deadLetters });
    // Events still queued, retrying or given up name the user and their number: they go too, undelivered.
    await workEvents.forget({ workspace, scope, identities });
  };
  const identitySet = (redis: Redis, events: EventSink) => {
    const tokens = new RedisTokenStore(redis, identityKeys, cipher); // cache hits are counted per turn
    const identity = new IdentityStore({
      redis,
      keys: identityKeys,
      cipher,
      tokens,
      events,
      onErase,
      durability: durability(env),
    });
    const linkCodes = new LinkCodes({
      codes: new LinkCodeStore(redis, identityKeys, cipher, { now: Date.now }),
      identity,
    });
    return { tokens, identity, linkCodes, lockout: new Lockout(redis, identityKeys), events };
  };
  const workEvents = new QueuedEventSink({
    connection: work,
    keys: identityKeys,
    directory: currentDirectory,
    logger,
  });
  const webEvents = new QueuedEventSink({
    connection: web,
    keys: identityKeys,
    directory: currentDirectory,
    logger,
  });
  const workIdentity = identitySet(work, workEvents);
  const webIdentity = identitySet(web, webEvents);
  const emitter = (sink: EventSink) => ({
    emit: (event: Parameters<EventSink['emit']>[0]) => {
      sink.emit(event).catch((error: unknown) =>
        logger.error('operator event not queued', {
          type: event.type,
          workspace: event.workspace,
          reason: error instanceof Error ? error.message : String(error),
        }),
      );
    },
  });
  /** `message.failed` for a reply that did not go out (send worker) or was not delivered (status callback). */
  const messageFailed = async (
    set: ReturnType<typeof identitySet>,
    f: { botId?: string; channel: Channel; to: string; reason: string; code?: string | number; key: string },
  ) => {
    const bot = f.botId ? directory.bot(f.botId) : undefined;
    if (!bot) return;
    // Who the reply was for, so the operator can tell which user missed it (a read, never a write).
    const user = await set.identity
      .resolveUser({ workspace: bot.workspace, identity: identityOf(f.channel, f.to), channel: f.channel })
      .catch(() => undefined);
    emitter(set.events).emit({
      type: 'message.failed',
      workspace: bot.workspace,
      channel: f.channel,
      identity: identityOf(f.channel, f.to),
      key: f.key,
      ...(user ? { userId: user.userId, ...(user.externalId ? { externalId: user.externalId } : {}) } : {}),
      data: {
        bot: f.botId,
        to: f.to,
        reason: f.reason,
        ...(f.code !== undefined ? { errorCode: String(f.code) } : {}),
      },
    });
  };
  const sender: MessageSender = recorder ?? providerSender(() => directory.config);

  const workers: Worker[] = [];
  const turns = new EventEmitter<{ turn: [FinishedTurn] }>().setMaxListeners(0);
  if (opts.roles.workers) {
    const templates = new Templates();
    const engine = new DialogEngine({ templates, clock: systemClock });
    const services: TurnServiceDeps = {
      outbound: createOutboundClient(),
      templates,
      logger,
      metrics,
      identity: identityServices(workIdentity),
      events: emitter(workEvents),
    };
    const common = {
      connection: work,
      queues: queuesForWork,
      store: workStore,
      directory: currentDirectory,
      logger,
      metrics,
      lockDuration: env.SWITCHBOARD_LOCK_MS,
      retryBaseMs: env.SWITCHBOARD_RETRY_BASE_MS,
    };
    for (let shard = 0; shard < env.SWITCHBOARD_QUEUE_SHARDS; shard++) {
      workers.push(
        createConversationWorker(shard, {
          ...common,
          engine,
          services,
          channels,
          redactInbound: async (event) =>
            channels.get(event.channel)?.redact?.(event, { directory, sender, logger }),
          concurrency: env.SWITCHBOARD_CONCURRENCY,
          maxAttempts: env.SWITCHBOARD_TURN_ATTEMPTS,
          onTurn: (turn) => turns.emit('turn', turn),
        }),
        createSendWorker(shard, {
          ...common,
          channels,
          sender,
          concurrency: env.SWITCHBOARD_SEND_CONCURRENCY,
          maxAttempts: env.SWITCHBOARD_SEND_ATTEMPTS,
          onFailure: async ({ item, reason, code }) =>
            messageFailed(workIdentity, {
              botId: item.botId,
              channel: item.channel,
              to: item.to,
              key: `reply:${item.id}:failed`,
              reason,
              ...(code !== undefined ? { code } : {}),
            }),
        }),
      );
    }
    workers.push(
      createEventWorker({
        connection: work,
        prefix: keys.prefix,
        directory: currentDirectory,
        logger,
        backoff: { baseMs: env.SWITCHBOARD_EVENT_RETRY_BASE_MS },
      }),
    );
  }

  let server: Server | undefined;
  let host: string | undefined;
  let waiter: TurnWaiter | undefined;
  let draining = false;
  const answering = new Set<ServerResponse>();
  if (opts.roles.web) {
    const subscriber = connect(env, 'switchboard:turns', { maxRetriesPerRequest: null }, logger);
    connections.push(subscriber);
    waiter = new TurnWaiter(subscriber, webStore);
    const statuses = new StatusRecorder(webStore, logger, metrics, async (failure) => {
      await messageFailed(webIdentity, {
        botId: failure.botId,
        channel: failure.channel,
        to: failure.to,
        key: `status:${failure.messageSid}:${failure.status}`,
        reason: failure.reason,
        ...(failure.errorCode ? { code: failure.errorCode } : {}),
      });
    });
    const routers = [
      webhookRouter({
        channels,
        directory: currentDirectory,
        store: webStore,
        queues: queuesForWeb,
        waiter,
        statuses,
        logger,
        metrics,
        redisDeadlineMs: 1000 + durability(env).timeoutMs,
        draining: () => draining,
      }),
      operatorApiRouter({
        directory: currentDirectory,
        limiter: new FixedWindowLimiter(web),
        keys: identityKeys,
        identity: webIdentity.identity,
        tokens: webIdentity.tokens,
        linkCodes: webIdentity.linkCodes,
        logger,
      }),
    ];
    if (recorder) {
      routers.push(sandboxRouter(recorder, currentDirectory, { draining: () => draining }));
      routers.push(
        simulatorRouter({
          directory: currentDirectory,
          logger,
          users: sandboxUserLookup({
            directory: currentDirectory,
            identities: webIdentity.identity,
            tokens: webIdentity.tokens,
          }),
        }),
      );
    }
    const app = createApp({
      logger,
      metrics,
      routers,
      draining: () => draining,
      ready: async () => {
        const redisOk = await Promise.race([
          web.ping().then(
            () => true,
            () => false,
          ),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000).unref()),
        ]);
        const checks: Record<string, boolean> = { redis: redisOk };
        if (opts.roles.workers) checks.workers = workers.every((w) => w.isRunning());
        return { ok: Object.values(checks).every(Boolean), checks };
      },
    });
    const port = opts.port ?? opts.config.server.port;
    // Not ready by then: listen anyway; webhooks answer 503 until Redis answers, /readyz says why.
    await readyWithin(web, 5000);
    // The sandbox's outbox, simulator and demo key have no protection worth the name: loopback unless asked.
    const bind = env.SWITCHBOARD_HOST ?? opts.config.server.host ?? (sandbox ? '127.0.0.1' : '0.0.0.0');
    host = bind;
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(port, bind, (error?: Error) => (error ? reject(error) : resolve(s)));
    }).catch(async (error: NodeJS.ErrnoException) => {
      // Nothing else was started for nothing: close what is open before saying why.
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([queuesForWeb.close(), queuesForWork.close(), workEvents.close(), webEvents.close()]);
      await waiter?.close();
      for (const c of connections) c.disconnect();
      if (error.code === 'EADDRINUSE') {
        throw new ListenError(
          `Port ${port} on ${bind} is already in use. Stop the other process, or set PORT.`,
        );
      }
      if (error.code === 'EACCES') {
        throw new ListenError(
          `Not allowed to listen on port ${port}: choose a port above 1023, or set PORT.`,
        );
      }
      throw error;
    });
    server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
    server.on('clientError', answerClientError);
    const s = server;
    s.on('request', (_req, res: ServerResponse) => {
      answering.add(res);
      res.on('close', () => {
        answering.delete(res);
        // Draining: a connection is closed the moment its last answer is out, not after keepAliveTimeout.
        if (draining) setImmediate(() => s.closeIdleConnections());
      });
    });
  }

  const unfinished = () => ({
    requests: answering.size,
    jobs: workers.reduce((n, w) => n + jobsInFlight(w), 0),
  });

  const address = server?.address();
  const boundPort = typeof address === 'object' && address ? address.port : undefined;
  logger.info('switchboard started', {
    mode: sandbox ? 'sandbox' : 'production',
    roles: Object.entries(opts.roles)
      .filter(([, on]) => on)
      .map(([role]) => role),
    host,
    port: boundPort,
    bots: Object.keys(opts.config.bots),
    shards: env.SWITCHBOARD_QUEUE_SHARDS,
  });

  return {
    sandbox,
    port: boundPort,
    host,
    keys,
    turns,
    reload(config) {
      directory = new Directory(
        config,
        sandbox ? { authToken: env.SWITCHBOARD_SANDBOX_AUTH_TOKEN } : undefined,
      );
      logger.info('configuration reloaded', { bots: Object.keys(config.bots) });
    },
    unfinished,
    async close() {
      draining = true;
      const started = Date.now();
      const waitedFor = unfinished();
      logger.info('stopping: waiting for requests and jobs in flight', waitedFor);
      // Answers not yet begun close their connection too; idle connections close now, busy ones when done.
      for (const res of answering) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closing = server
        ? new Promise<void>((resolve) => server!.close(() => resolve()))
        : Promise.resolve();
      server?.closeIdleConnections();
      await Promise.all(workers.map((w) => w.close()));
      await waiter?.close();
      await closing;
      await Promise.all([workEvents.close(), webEvents.close()]);
      await Promise.all([queuesForWeb.close(), queuesForWork.close()]);
      // QUIT waits for its answer; a connection Redis left half-open (a failover, a primary killed) would
      // hold the stop forever, so it is cut after a second.
      await Promise.all(connections.map((c) => quitWithin(c, 1000)));
      logger.info('switchboard stopped', { waitedFor, waitedMs: Date.now() - started });
    },
  };
}

/** QUITs a connection, or disconnects it if Redis has not answered within `ms`. */
async function quitWithin(connection: Redis, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([connection.quit().then(() => undefined), late]);
  } catch {
    // Already closed, or Redis refused: disconnecting below is all that is left to do.
  } finally {
    clearTimeout(timer);
    connection.disconnect();
  }
}
