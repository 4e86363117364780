// Opening the store from the environment: Redis connections (single, Sentinel or Cluster), the data
// cipher, the key names, and closing a connection that may never answer.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Env } from '../env.js';
import type { Logger } from '../log.js';
import { createDataCipher, DataKeyError, SANDBOX_DATA_KEY, type DataCipher } from './cipher.js';
import { keyHolders } from './connections.js';
import type { Durability } from './durability.js';
import { IdentityKeys } from './identity-keys.js';
import { migrateLegacyNames } from './key-migration.js';
import { loadKeyNaming } from './key-naming.js';
import { Keys } from './keys.js';

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

/**
 * SWITCHBOARD_DURABILITY: how many replicas must hold a write before it counts: an accepted message
 * before its webhook answers 200, a turn's commit, a sent reply's removal, history lines.
 */
export function durability(env: Env): Durability {
  return env.SWITCHBOARD_DURABILITY === 'replica'
    ? { replicas: 1, timeoutMs: env.SWITCHBOARD_DURABILITY_TIMEOUT_MS }
    : { replicas: 0, timeoutMs: 0 };
}

/**
 * Every connection gets its own role name in CLIENT LIST, which helps when reading a busy Redis.
 * `coalesce`: the commands sent in one burst leave in one socket write (`coalesceWrites`).
 */
export function connect(
  env: Env,
  name: string,
  options: RedisOptions,
  logger: Logger,
  coalesce = false,
): Redis {
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
  if (coalesce) {
    if (redis.isCluster) redis.on('+node', (node: Redis) => coalesceWrites(node));
    else coalesceWrites(redis);
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
 * One socket write for the commands sent in one burst of the event loop. A worker's drains each send
 * their next command when Redis's answers (which arrive together) resolve them; written one by one,
 * each is a syscall, the largest single cost in a profile of the worker. The socket is corked at the
 * first command and uncorked once the current microtasks have run (`nextTick`), so nothing waits for
 * the next turn of the event loop, as auto-pipelining does.
 */
export function coalesceWrites(redis: Redis): void {
  const send = redis.sendCommand.bind(redis);
  let corked = false;
  redis.sendCommand = (command, stream) => {
    const socket = redis.stream;
    if (!corked && stream === undefined && redis.status === 'ready' && socket?.writable) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return send(command, stream);
  };
}

/**
 * Resolves once the connection is ready, or after `ms`. The web connection has no offline queue (so an
 * outage answers 503 at once), which would also refuse every webhook in the moments before it connects.
 */
export function readyWithin(redis: Redis, ms: number): Promise<void> {
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

/** QUITs a connection, or disconnects it if Redis has not answered within `ms`. */
export async function quitWithin(connection: Redis, ms: number): Promise<void> {
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

/** The data cipher: SWITCHBOARD_DATA_KEY (and the old keys it replaced); the sandbox has a built-in one. */
export function openCipher(
  env: Env,
  sandbox: boolean,
  logger: Logger,
): { cipher: DataCipher; dataKey: string } {
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
  return { cipher, dataKey };
}

/** Each workspace's bots: where the start-up migration looks for a user's workspace and an identity's conversations. */
export function botsByWorkspace(
  bots: Record<string, { workspace: string }>,
  workspaces: string[],
): Map<string, string[]> {
  const map = new Map<string, string[]>(workspaces.map((w) => [w, []]));
  for (const [id, bot] of Object.entries(bots))
    map.set(bot.workspace, [...(map.get(bot.workspace) ?? []), id]);
  return map;
}

/**
 * Key names are keyed hashes: the key that names them is read (or made) before anything is named, then the
 * unkeyed names of earlier versions are moved.
 */
export async function openKeys(opts: {
  redis: Redis;
  prefix: string;
  cipher: DataCipher;
  dataKey: string;
  workspaces: Map<string, string[]>;
  logger: Logger;
}): Promise<{ keys: Keys; identityKeys: IdentityKeys }> {
  const { redis, prefix, cipher, logger } = opts;
  await readyWithin(redis, 5000);
  if (redis.status !== 'ready')
    logger.warn('waiting for Redis: key names need the key-naming record kept there');
  const keys = new Keys(prefix, await loadKeyNaming(redis, prefix, cipher, opts.dataKey));
  const identityKeys = new IdentityKeys(keys);
  const moved = await migrateLegacyNames({
    redis,
    nodes: keyHolders(redis),
    keys,
    identityKeys,
    cipher,
    workspaces: opts.workspaces,
  });
  // Unknown records: sealed under a lost key, of a workspace no longer configured, or named by another key-naming key.
  const level = moved.unknown > 0 ? 'warn' : 'info';
  if (moved.ran) logger[level]('key names checked for the unkeyed names of earlier versions', { ...moved });
  return { keys, identityKeys };
}
