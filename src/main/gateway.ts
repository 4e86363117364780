// The composition root: builds every part from the environment and the configuration, and wires them.
import { EventEmitter } from 'node:events';
import {
  ChannelRegistry,
  hasProviderAccounts,
  providerSender,
  type ChannelAdapter,
} from '../../channels/index.js';
import { Directory } from '../config/directory.js';
import type { Config } from '../config/index.js';
import { removedFlows } from '../config/reload.js';
import type { Env } from '../env.js';
import type { Clock } from '../core/ports/clock.js';
import { systemClock } from './system-clock.js';
import type { Logger } from '../log.js';
import { createMetrics } from '../metrics.js';
import type { FinishedTurn } from '../queue/conversation-worker.js';
import { createOutboundClient } from '../net/outbound.js';
import type { Keys } from '../store/keys.js';
import { createMetricsApp } from '../http/app.js';
import { listen, type WebServer } from '../http/server.js';
import { readiness } from '../http/readiness.js';
import { abandon, stopInOrder, type Running } from './shutdown.js';
import { openStores } from './stores.js';
import { startWeb } from './web.js';
import { startWorkers } from './workers.js';
import { KickWorker } from '../queue/kick-worker.js';

export { ListenError } from '../http/server.js';

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
  /** The time every decision of a turn or a webhook is made by (the system clock unless a test moves its own). */
  clock?: Clock;
  /** Sandbox: what the simulator's page suggests trying (`npm start`: the demo's accounts and PINs). */
  simulatorNotes?: readonly string[];
}

export interface Gateway {
  readonly sandbox: boolean;
  readonly port: number | undefined;
  /** The address the web server listens on (undefined without the web role). */
  readonly host: string | undefined;
  readonly keys: Keys;
  /** Emits `turn` for every turn this process's workers finish (never without the workers role). */
  readonly turns: EventEmitter<{ turn: [FinishedTurn] }>;
  /**
   * Swaps in a new configuration at once; conversations in flight carry on (those in a flow it removed start
   * again at main). Resolves when the warning about such flows is logged; never rejects.
   */
  reload(config: Config): Promise<void>;
  /** Stops taking webhooks, finishes requests and turns in flight, closes connections. */
  close(): Promise<void>;
  /** What a stop is still waiting for (requests answering, jobs running), for the log. */
  unfinished(): { requests: number; jobs: number };
  /** What /readyz answers: Redis reachable and (with the workers role) every worker running. */
  ready(): Promise<{ ok: boolean; checks: Record<string, boolean> }>;
}

export function isSandbox(env: Env, config: Config): boolean {
  if (env.SWITCHBOARD_MODE) return env.SWITCHBOARD_MODE === 'sandbox';
  return !hasProviderAccounts(config);
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const { env, logger } = opts;
  const sandbox = isSandbox(env, opts.config);
  const channels = new ChannelRegistry(opts.channels);
  const clock = opts.clock ?? systemClock;
  const now = () => clock.now();
  const sandboxAuth = sandbox ? { authToken: env.SWITCHBOARD_SANDBOX_AUTH_TOKEN } : undefined;
  let directory = new Directory(opts.config, sandboxAuth);
  /**
   * Warns of each bot's flows the reload removed and how many live conversations wait in them: one read of
   * the workspace's live index (a page per 200 conversations, an EXISTS and a decryption each), per reload.
   */
  const warnOfRemovedFlows = async (before: Config, after: Config): Promise<void> => {
    for (const { botId, workspace, flows } of removedFlows(before, after)) {
      const waiting: Record<string, number> = Object.fromEntries(flows.map((f) => [f, 0]));
      const fields = { bot: botId, flows, restartsAt: 'main' };
      try {
        await stores.web.store.liveConversations(workspace, {
          now: now(),
          limit: Number.MAX_SAFE_INTEGER,
          keep: (c) => {
            if (c.botId === botId && Object.hasOwn(waiting, c.flow))
              waiting[c.flow] = (waiting[c.flow] ?? 0) + 1;
            return false;
          },
        });
      } catch (error) {
        logger.warn('configuration reload removed flows; their conversations start again at main', {
          ...fields,
          reason: `conversations not counted: ${error instanceof Error ? error.message : String(error)}`,
        });
        continue;
      }
      const conversations = Object.values(waiting).reduce((a, b) => a + b, 0);
      logger.warn('configuration reload removed flows; their conversations start again at main', {
        ...fields,
        conversations,
        waiting,
      });
    }
  };
  const currentDirectory = () => directory;
  const stores = await openStores({
    env,
    config: opts.config,
    sandbox,
    directory: currentDirectory,
    logger,
    now,
  });
  const { web, work } = stores;
  const metrics = createMetrics(() => web.queues.depth());

  // Calls to operator hosts (protected APIs, auth, sign-in, revocation): one pool per process, web and workers.
  const outbound = createOutboundClient();
  const running: Running = {
    workers: [],
    sinks: [work.events, web.events],
    queues: [web.queues, work.queues],
    connections: stores.connections,
    outbound,
  };
  const turns = new EventEmitter<{ turn: [FinishedTurn] }>().setMaxListeners(0);
  if (opts.roles.workers) {
    running.workers = startWorkers({
      env,
      stores,
      directory: currentDirectory,
      channels,
      sender: stores.recorder ?? providerSender(() => directory.config),
      logger,
      metrics,
      turns,
      clock,
      outbound,
      // Web and workers in one process: a voice turn's answer reaches its waiting webhook directly.
      voiceAnswered: (cid, turn, answer) => running.waiter?.answered(cid, turn, answer),
    });
    // Web and workers in one process: what a webhook kicks, a free worker slot here takes at once.
    if (opts.roles.web) {
      for (const worker of running.workers)
        if (worker instanceof KickWorker) web.queues.takeLocally(worker.shard, worker);
    }
  }

  let webServer: WebServer | undefined;
  let host: string | undefined;
  let draining = false;
  if (opts.roles.web) {
    // The sandbox's outbox, simulator and demo key have no protection worth the name: loopback unless asked.
    host = env.SWITCHBOARD_HOST ?? opts.config.server.host ?? (sandbox ? '127.0.0.1' : '0.0.0.0');
    running.web = webServer = await startWeb({
      env,
      stores,
      directory: currentDirectory,
      channels,
      host,
      port: opts.port ?? opts.config.server.port,
      draining: () => draining,
      running,
      workersRunning: opts.roles.workers ? () => running.workers.every((w) => w.isRunning()) : undefined,
      logger,
      metrics,
      now,
      outbound,
      simulatorNotes: opts.simulatorNotes,
    });
  }

  if (env.METRICS_PORT !== undefined) {
    // Any role: a worker process serves its own counts (turns, protected APIs, sends) here.
    running.metrics = await listen(
      createMetricsApp(metrics, { token: env.METRICS_TOKEN }),
      env.METRICS_PORT,
      env.METRICS_HOST,
      'METRICS_PORT',
    ).catch(async (error: unknown) => {
      await running.web?.drain();
      await abandon(running);
      throw error;
    });
  }

  const unfinished = () => ({
    requests: webServer?.answering() ?? 0,
    jobs: running.workers.reduce((n, w) => n + w.inFlight(), 0),
  });
  const ready = readiness({
    ping: () => (opts.roles.workers ? work : web).connection.ping(),
    ...(opts.roles.workers ? { workersRunning: () => running.workers.every((w) => w.isRunning()) } : {}),
  });
  logger.info('switchboard started', {
    mode: sandbox ? 'sandbox' : 'production',
    roles: Object.entries(opts.roles).flatMap(([role, on]) => (on ? [role] : [])),
    host,
    port: webServer?.port,
    ...(running.metrics ? { metricsPort: running.metrics.port, metricsHost: env.METRICS_HOST } : {}),
    bots: Object.keys(opts.config.bots),
    shards: env.SWITCHBOARD_QUEUE_SHARDS,
  });

  return {
    sandbox,
    port: webServer?.port,
    host,
    keys: stores.keys,
    turns,
    unfinished,
    ready,
    async reload(config) {
      const before = directory.config;
      directory = new Directory(config, sandboxAuth);
      logger.info('configuration reloaded', { bots: Object.keys(config.bots) });
      await warnOfRemovedFlows(before, config);
    },
    async close() {
      draining = true;
      const started = Date.now();
      const waitedFor = unfinished();
      logger.info('stopping: waiting for requests and jobs in flight', waitedFor);
      await stopInOrder(running);
      logger.info('switchboard stopped', { waitedFor, waitedMs: Date.now() - started });
    },
  };
}
