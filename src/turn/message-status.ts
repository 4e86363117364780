// `message.status`: a proactive message moved on (sent, delivered, read, failed with Twilio's error code),
// told to the operator with the user it was for.
import type { Directory } from '../config/directory.js';
import { identityOf } from '../core/events.js';
import type { Logger } from '../log.js';
import type { EventSink } from '../operator-events/index.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { MessageRecord } from '../store/message-store.js';
import { loggedEmitter } from './message-failed.js';

export function messageStatusReporter(deps: {
  directory: () => Directory;
  identity: Pick<IdentityStore, 'resolveUser'>;
  events: EventSink;
  logger: Logger;
}): (record: MessageRecord, to: string) => Promise<void> {
  const emitter = loggedEmitter(deps.events, deps.logger);
  return async (record, to) => {
    if (!deps.directory().bot(record.botId)) return;
    const identity = identityOf(record.channel, to);
    const user = await deps.identity
      .resolveUser({ workspace: record.workspace, identity, channel: record.channel })
      .catch(() => undefined);
    emitter.emit({
      type: 'message.status',
      workspace: record.workspace,
      channel: record.channel,
      identity,
      // One event per message and status: a callback Twilio sends again is the same event.
      key: `message:${record.id}:${record.status}`,
      ...(user ? { userId: user.userId, ...(user.externalId ? { externalId: user.externalId } : {}) } : {}),
      data: {
        message: record.id,
        bot: record.botId,
        status: record.status,
        ...(record.errorCode !== null ? { errorCode: record.errorCode } : {}),
      },
    });
  };
}
