// Wiring of the web role: webhooks, the operator API and, in the sandbox, the outbox and the simulator.
import { providerCaller, type ChannelRegistry, type SandboxRecorder } from '../../channels/index.js';
import { OutboundCalls } from '../store/call-store.js';
import { callFailedReporter } from '../turn/call-failed.js';
import type { Directory } from '../config/directory.js';
import type { Env } from '../env.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { createApp } from '../http/app.js';
import { operatorApiRouter } from '../http/operator-api.js';
import { readiness } from '../http/readiness.js';
import { sandboxRouter } from '../http/sandbox.js';
import { sandboxAgent } from '../http/handoff.js';
import { sandboxUserLookup, simulatorRouter, type SimulatorDeps } from '../http/simulator/router.js';
import { listen, type WebServer } from '../http/server.js';
import { StatusRecorder } from '../http/status-recorder.js';
import { signInRouter } from '../http/sign-in.js';
import { webhookRouter } from '../http/webhooks.js';
import { Templates } from '../core/templates.js';
import type { OutboundClient } from '../net/outbound.js';
import { TurnWaiter } from '../queue/turn-waiter.js';
import { workspaceRevocation } from '../turn/provider-revocation.js';
import { connect, durability, readyWithin } from '../store/open.js';
import { FixedWindowLimiter } from '../store/rate-limiter.js';
import { SandboxOutbox } from '../store/sandbox-outbox.js';
import { AuditLog } from '../store/audit-log.js';
import { DeadLetters } from '../store/dead-letters.js';
import { abandon, type Running } from './shutdown.js';
import type { Stores } from './stores.js';

/** Starts the web role: the routes over the web connection's stores, listening on `host`. */
export async function startWeb(deps: {
  env: Env;
  stores: Stores;
  directory: () => Directory;
  channels: ChannelRegistry;
  host: string;
  port: number;
  draining: () => boolean;
  running: Running;
  workersRunning: (() => boolean) | undefined;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** Calls to providers (sign-in exchanges, revocations), pooled per host. */
  outbound: OutboundClient;
  /** Sandbox: what the simulator's page suggests trying (the demo's accounts). */
  simulatorNotes?: readonly string[] | undefined;
}): Promise<WebServer> {
  const { env, directory, logger, metrics, draining, running } = deps;
  const { connection, store, queues, identity, messageFailed, signIns, messages, messageStatus } =
    deps.stores.web;
  const subscriber = connect(env, 'switchboard:turns', { maxRetriesPerRequest: null }, logger);
  running.connections.push(subscriber);
  const waiter = (running.waiter = new TurnWaiter(subscriber, store));
  const { outbound } = deps;
  const templates = new Templates();
  const statuses = new StatusRecorder(
    store,
    logger,
    metrics,
    (failure) =>
      messageFailed({
        botId: failure.botId,
        channel: failure.channel,
        to: failure.to,
        key: `status:${failure.messageSid}:${failure.status}`,
        reason: failure.reason,
        ...(failure.errorCode ? { code: failure.errorCode } : {}),
      }),
    { store: messages, now: deps.now, changed: messageStatus },
  );
  const outboundCalls = new OutboundCalls(connection, deps.stores.keys, deps.stores.cipher);
  const routers = [
    webhookRouter({
      channels: deps.channels,
      directory,
      store,
      queues,
      waiter,
      statuses,
      logger,
      metrics,
      redisDeadlineMs: 1000 + durability(env).timeoutMs,
      draining,
      now: deps.now,
      outboundCalls,
      callFailed: callFailedReporter({
        directory,
        identity: identity.identity,
        events: deps.stores.web.events,
        logger,
      }),
    }),
    operatorApiRouter({
      directory,
      limiter: new FixedWindowLimiter(connection),
      keys: deps.stores.identityKeys,
      identity: identity.identity,
      tokens: identity.tokens,
      linkCodes: identity.linkCodes,
      logger,
      now: deps.now,
      live: {
        conversations: store,
        lockout: identity.lockout,
        deadLetters: new DeadLetters(connection, store, (botId) => directory().bot(botId)?.workspace),
        kick: (cid) => queues.kickConversation(cid),
      },
      proactive: {
        conversations: store,
        messages,
        idempotency: deps.stores.web.idempotency,
        queues,
        channels: deps.channels,
      },
      calls: {
        calls: outboundCalls,
        placer: deps.stores.recorder ? undefined : providerCaller(() => directory().config),
        conversations: store,
        idempotency: deps.stores.web.idempotency,
      },
      audit: new AuditLog(connection, deps.stores.keys, deps.stores.identityKeys, deps.stores.cipher),
      revokeAtProvider: workspaceRevocation({
        config: () => directory().config,
        outbound,
        templates,
        logger,
      }),
    }),
    signInRouter({
      directory,
      signIns,
      store,
      queues,
      outbound,
      templates,
      logger,
      now: deps.now,
      redisDeadlineMs: 1000 + durability(env).timeoutMs,
    }),
  ];
  const recorder: SandboxRecorder | undefined = deps.stores.recorder;
  if (recorder) {
    routers.push(sandboxRouter(recorder, directory, { draining }));
    const users = sandboxUserLookup({
      directory,
      identities: identity.identity,
      tokens: identity.tokens,
      conversations: store,
      conversationIds: deps.stores.keys,
      lockouts: identity.lockout,
    });
    const thread = new SandboxOutbox(connection, deps.stores.keys);
    const agent: SimulatorDeps['agent'] = (bot, who, action) =>
      sandboxAgent(
        { conversations: store, kick: (cid) => queues.kickConversation(cid), now: deps.now },
        bot,
        who,
        action,
      );
    routers.push(simulatorRouter({ directory, logger, users, thread, agent, notes: deps.simulatorNotes }));
  }
  const ready = readiness({
    ping: () => connection.ping(),
    ...(deps.workersRunning ? { workersRunning: deps.workersRunning } : {}),
  });
  // With a port of its own, /metrics is not on the port webhooks come to.
  const metricsAccess = env.METRICS_PORT === undefined ? { token: env.METRICS_TOKEN } : false;
  const app = createApp({
    logger,
    metrics,
    routers,
    draining,
    ready,
    metricsAccess,
    sandbox: recorder !== undefined,
  });
  // Not ready by then: listen anyway; webhooks answer 503 until Redis answers, /readyz says why.
  await readyWithin(connection, 5000);
  return listen(app, deps.port, deps.host).catch(async (error: unknown) => {
    await abandon(running); // nothing else was started for nothing: close what is open before saying why
    throw error;
  });
}
