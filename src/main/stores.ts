// Wiring of the store: the connections, the key names, queues, conversation stores, operator event sinks
// and identity stores — one set per connection (the workers' waits for Redis, the web's fails fast).
import { SandboxRecorder } from '../../channels/index.js';
import type { Directory } from '../config/directory.js';
import type { Config } from '../config/index.js';
import type { Env } from '../env.js';
import { LinkCodes } from '../identity/index.js';
import type { Logger } from '../log.js';
import { QueuedEventSink, type EventSink } from '../operator-events/index.js';
import { Queues } from '../queue/queues.js';
import type { DataCipher } from '../store/cipher.js';
import type { Connection } from '../store/connections.js';
import { ConversationStore } from '../store/conversation-store.js';
import { SandboxOutbox } from '../store/sandbox-outbox.js';
import type { Durability } from '../store/durability.js';
import { ContentSidStore } from '../store/content-sids.js';
import type { IdentityKeys } from '../store/identity-keys.js';
import { IdentityStore, type IdentityStoreOptions } from '../store/identity-store.js';
import { LinkCodeStore } from '../store/link-code-store.js';
import { Lockout } from '../store/lockout.js';
import { botsByWorkspace, connect, durability, openCipher, openKeys } from '../store/open.js';
import { RedisSignInStore } from '../store/sign-in-store.js';
import { RedisRefreshLock } from '../store/refresh-lock.js';
import { RedisTokenStore } from '../store/token-store.js';
import { userEraser } from '../turn/erase-user.js';
import { messageFailedReporter } from '../turn/message-failed.js';
import { messageStatusReporter } from '../turn/message-status.js';
import { IdempotencyStore } from '../store/idempotency.js';
import { MessageStore } from '../store/message-store.js';

export type IdentitySet = ReturnType<typeof identitySet>;
export type Stores = Awaited<ReturnType<typeof openStores>>;

export function identitySet(
  redis: Connection,
  deps: {
    keys: IdentityKeys;
    cipher: DataCipher;
    events: EventSink;
    durability: Durability;
    onErase: NonNullable<IdentityStoreOptions['onErase']>;
    now: () => number;
  },
) {
  const { keys, cipher, events, now } = deps;
  const tokens = new RedisTokenStore(redis, keys, cipher, { now }); // cache hits are counted per turn
  const identity = new IdentityStore({ redis, tokens, ...deps });
  const codes = new LinkCodeStore(redis, keys, cipher, { now });
  const linkCodes = new LinkCodes({ codes, identity, now });
  const refreshLock = new RedisRefreshLock(redis, keys);
  return {
    tokens,
    refreshLock,
    identity,
    linkCodes,
    lockout: new Lockout(redis, keys, { now }),
    events,
    now,
  };
}

export async function openStores(opts: {
  env: Env;
  config: Config;
  sandbox: boolean;
  directory: () => Directory;
  logger: Logger;
  /** The time every decision of a turn or a webhook is made by. */
  now: () => number;
}) {
  const { env, logger, directory, now } = opts;
  const { cipher, dataKey } = openCipher(env, opts.sandbox, logger);
  // Webhooks fail fast when Redis is away (503, so the provider retries); workers wait for it to come back.
  // Auto-pipelining sends the commands of concurrent webhooks in one write: a write per command made
  // socket writes the largest cost of a webhook (bench/webhook.bench.ts, docs/architecture.md).
  const webOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true };
  const web = connect(env, 'switchboard:web', webOptions, logger);
  // The workers' connection writes the commands of one burst together instead (see `coalesceWrites`).
  const work = connect(env, 'switchboard:work', { maxRetriesPerRequest: null }, logger, true);
  // BullMQ's queues on the web side (send kicks, operator events) get a connection of their own: BullMQ
  // defines its 64 scripts on the connection it is given, and ioredis copies every defined script into
  // each pipeline it builds — one per auto-pipelined batch of the web connection, 25 µs a batch instead of
  // 2 (4 % of the process's CPU under the end-to-end bench). The workers' BullMQ jobs stay on the workers'
  // connection, which builds no pipeline per command: a job's lock is renewed on the connection its work
  // runs on, so a worker whose connection stalls loses its jobs to another.
  const webJobs = connect(
    env,
    'switchboard:web:jobs',
    { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
    logger,
  );
  const connections = [web, work, webJobs];
  const workspaces = botsByWorkspace(opts.config.bots, Object.keys(opts.config.workspaces));
  const prefix = env.SWITCHBOARD_KEY_PREFIX;
  const { keys, identityKeys } = await openKeys({
    redis: work,
    prefix,
    cipher,
    dataKey,
    workspaces,
    logger,
  }).catch((error: unknown) => {
    for (const c of connections) c.disconnect();
    throw error;
  });
  const shards = env.SWITCHBOARD_QUEUE_SHARDS;
  const workStore = new ConversationStore(work, keys, cipher, durability(env));
  const sinkOptions = { keys: identityKeys, directory, logger };
  const workEvents = new QueuedEventSink({ connection: work, ...sinkOptions });
  const webEvents = new QueuedEventSink({ connection: web, jobs: webJobs, ...sinkOptions });
  const erased = { directory, keys, redis: work, store: workStore, events: workEvents, logger };
  const onErase = userEraser(erased);
  const identityOptions = { keys: identityKeys, cipher, durability: durability(env), onErase, now };
  const reporter = (set: IdentitySet) =>
    messageFailedReporter({ directory, identity: set.identity, events: set.events, logger });
  const statusReporter = (set: IdentitySet) =>
    messageStatusReporter({ directory, identity: set.identity, events: set.events, logger });
  const workIdentity = identitySet(work, { ...identityOptions, events: workEvents });
  const webIdentity = identitySet(web, { ...identityOptions, events: webEvents });
  return {
    keys,
    identityKeys,
    /** Every connection opened here, to close on shutdown. */
    connections,
    cipher,
    recorder: opts.sandbox ? new SandboxRecorder(new SandboxOutbox(work, keys)) : undefined,
    web: {
      connection: web,
      queues: new Queues(web, keys, shards, webJobs),
      store: new ConversationStore(web, keys, cipher, durability(env)),
      signIns: new RedisSignInStore(web, keys, cipher, { now }),
      events: webEvents,
      identity: webIdentity,
      messageFailed: reporter(webIdentity),
      messages: new MessageStore(web, keys, cipher),
      messageStatus: statusReporter(webIdentity),
      idempotency: new IdempotencyStore(web, keys),
    },
    work: {
      connection: work,
      queues: new Queues(work, keys, shards),
      store: workStore,
      signIns: new RedisSignInStore(work, keys, cipher, { now }),
      events: workEvents,
      identity: workIdentity,
      messageFailed: reporter(workIdentity),
      contents: new ContentSidStore(work, keys),
      messages: new MessageStore(work, keys, cipher),
      messageStatus: statusReporter(workIdentity),
    },
  };
}
