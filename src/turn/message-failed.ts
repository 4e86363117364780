// `message.failed`: a reply that did not go out (the send worker gave up) or was not delivered (a status
// callback said so), told to the operator with the user it was for.
import type { Directory } from '../config/directory.js';
import { identityOf, type Channel } from '../core/events.js';
import type { Logger } from '../log.js';
import type { EventSink } from '../operator-events/index.js';
import type { IdentityStore } from '../store/identity-store.js';

export interface FailedReply {
  botId?: string;
  channel: Channel;
  to: string;
  reason: string;
  code?: string | number;
  /** Makes the event idempotent: a retried failure is one event. */
  key: string;
}

/** Emits without waiting: a turn or a webhook never fails because an operator event could not be queued. */
export function loggedEmitter(sink: EventSink, logger: Logger) {
  return {
    emit: (event: Parameters<EventSink['emit']>[0]) => {
      sink.emit(event).catch((error: unknown) =>
        logger.error('operator event not queued', {
          type: event.type,
          workspace: event.workspace,
          reason: error instanceof Error ? error.message : String(error),
        }),
      );
    },
  };
}

export function messageFailedReporter(deps: {
  directory: () => Directory;
  identity: Pick<IdentityStore, 'resolveUser'>;
  events: EventSink;
  logger: Logger;
}): (failure: FailedReply) => Promise<void> {
  const emitter = loggedEmitter(deps.events, deps.logger);
  return async (f) => {
    const bot = f.botId ? deps.directory().bot(f.botId) : undefined;
    if (!bot) return;
    // Who the reply was for, so the operator can tell which user missed it (a read, never a write).
    const user = await deps.identity
      .resolveUser({ workspace: bot.workspace, identity: identityOf(f.channel, f.to), channel: f.channel })
      .catch(() => undefined);
    emitter.emit({
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
}
