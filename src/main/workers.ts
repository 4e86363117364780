// Wiring of the workers role: per shard a conversation worker and a send worker, and one event worker.
import type { QueueWorker } from '../queue/kick-worker.js';
import { asQueueWorker } from '../queue/reclaim.js';
import type { EventEmitter } from 'node:events';
import type { ChannelRegistry, MessageSender } from '../../channels/index.js';
import type { Directory } from '../config/directory.js';
import { DialogEngine } from '../core/dialog.js';
import { Templates } from '../core/templates.js';
import type { Env } from '../env.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { OutboundClient } from '../net/outbound.js';
import { createEventWorker } from '../operator-events/index.js';
import { createConversationWorker, type FinishedTurn } from '../queue/conversation-worker.js';
import { createSendWorker } from '../queue/send-worker.js';
import { createReplySender, type SendFailure } from '../queue/reply-sender.js';
import { SendPacer } from '../store/pacer.js';
import { identityServices } from '../turn/identity-services.js';
import { loggedEmitter } from '../turn/message-failed.js';
import type { TurnServiceDeps } from '../turn/turn-services.js';
import type { Clock } from '../core/ports/clock.js';
import type { Stores } from './stores.js';

export function startWorkers(deps: {
  env: Env;
  stores: Stores;
  directory: () => Directory;
  channels: ChannelRegistry;
  sender: MessageSender;
  logger: Logger;
  metrics: Metrics;
  turns: EventEmitter<{ turn: [FinishedTurn] }>;
  clock: Clock;
  outbound: OutboundClient;
  /** A voice turn's committed answer, handed to this process's waiting webhooks. */
  voiceAnswered?: (cid: string, turn: number, answer: string) => void;
}): QueueWorker[] {
  const { env, logger, metrics, channels, sender } = deps;
  const { connection, queues, store, identity, messageFailed, signIns, messages, messageStatus } =
    deps.stores.work;
  const templates = new Templates();
  const engine = new DialogEngine({ templates, clock: deps.clock });
  const services: TurnServiceDeps = {
    outbound: deps.outbound,
    templates,
    logger,
    metrics,
    identity: identityServices(identity),
    events: loggedEmitter(identity.events, logger),
    signIns: {
      store: signIns,
      publicUrl: () => deps.directory().publicUrl,
      now: () => deps.clock.now(),
    },
    clock: deps.clock,
  };
  const common = {
    connection,
    queues,
    store,
    directory: deps.directory,
    logger,
    metrics,
    lockDuration: env.SWITCHBOARD_LOCK_MS,
    retryBaseMs: env.SWITCHBOARD_RETRY_BASE_MS,
  };
  // One sender of replies: the send jobs', and the conversation worker's right after a commit.
  const replyOptions = {
    ...common,
    channels,
    sender,
    contents: deps.stores.work.contents,
    pacer: new SendPacer(connection, deps.stores.keys),
    maxAttempts: env.SWITCHBOARD_SEND_ATTEMPTS,
    onFailure: async ({ item, reason, code }: SendFailure) => {
      if (item.message) {
        // A proactive message Twilio refused (or that never got through): its record says so.
        const changed = await messages.advance(
          item.message,
          'failed',
          deps.clock.now(),
          code !== undefined ? String(code) : undefined,
        );
        if (changed) await messageStatus(changed, item.to);
      }
      await messageFailed({
        botId: item.botId,
        channel: item.channel,
        to: item.to,
        key: `reply:${item.id}:failed`,
        reason,
        ...(code !== undefined ? { code } : {}),
      });
    },
  };
  const replies = createReplySender(replyOptions);
  const workers: QueueWorker[] = [];
  for (let shard = 0; shard < env.SWITCHBOARD_QUEUE_SHARDS; shard++) {
    workers.push(
      ...createConversationWorker(shard, {
        ...common,
        engine,
        services,
        channels,
        replies,
        redactInbound: async (event) =>
          channels.get(event.channel)?.redact?.(event, { directory: deps.directory(), sender, logger }),
        concurrency: env.SWITCHBOARD_CONCURRENCY,
        maxAttempts: env.SWITCHBOARD_TURN_ATTEMPTS,
        now: () => deps.clock.now(),
        onTurn: (turn) => deps.turns.emit('turn', turn),
        ...(deps.voiceAnswered ? { onVoiceAnswer: deps.voiceAnswered } : {}),
      }),
      asQueueWorker(
        createSendWorker(shard, {
          ...common,
          ...replyOptions,
          concurrency: env.SWITCHBOARD_SEND_CONCURRENCY,
        }),
      ),
    );
  }
  workers.push(
    asQueueWorker(
      createEventWorker({
        connection,
        prefix: deps.stores.keys.prefix,
        directory: deps.directory,
        logger,
        backoff: { baseMs: env.SWITCHBOARD_EVENT_RETRY_BASE_MS },
      }),
    ),
  );
  return workers;
}
