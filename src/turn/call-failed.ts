// `call.failed`: an outbound call placed through the operator API that never connected, told to the operator.
import type { Directory } from '../config/directory.js';
import { identityOf } from '../core/events.js';
import type { Logger } from '../log.js';
import type { EventSink } from '../operator-events/index.js';
import type { IdentityStore } from '../store/identity-store.js';
import { loggedEmitter } from './message-failed.js';

export interface FailedCall {
  botId: string;
  callSid: string;
  /** The number called (E.164). */
  to: string;
  /** Twilio's final status: `no-answer`, `busy`, `failed` or `canceled`. */
  status: string;
}

export function callFailedReporter(deps: {
  directory: () => Directory;
  identity: Pick<IdentityStore, 'resolveUser'>;
  events: EventSink;
  logger: Logger;
}): (failure: FailedCall) => Promise<void> {
  const emitter = loggedEmitter(deps.events, deps.logger);
  return async (f) => {
    const bot = deps.directory().bot(f.botId);
    if (!bot) return;
    const identity = identityOf('voice', f.to);
    const user = await deps.identity
      .resolveUser({ workspace: bot.workspace, identity, channel: 'voice' })
      .catch(() => undefined);
    emitter.emit({
      type: 'call.failed',
      workspace: bot.workspace,
      channel: 'voice',
      identity,
      // One event per call, however often Twilio retries its status callback.
      key: `call:${f.callSid}:failed`,
      ...(user ? { userId: user.userId, ...(user.externalId ? { externalId: user.externalId } : {}) } : {}),
      data: { bot: f.botId, call: f.callSid, to: f.to, status: f.status },
    });
  };
}
