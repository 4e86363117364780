// What erasing a user takes beyond their identity records: their conversations in every bot of the
// workspace, their dead letters, and the operator events still queued about them.
import type { Directory } from '../config/directory.js';
import type { Logger } from '../log.js';
import type { ErasedSubject } from '../operator-events/index.js';
import type { Connection } from '../store/connections.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { eraseConversations } from '../store/erasure.js';
import type { Keys } from '../store/keys.js';

export function userEraser(deps: {
  directory: () => Directory;
  keys: Keys;
  redis: Connection;
  store: ConversationStore;
  events: { forget(subject: ErasedSubject): Promise<unknown> };
  logger: Logger;
}): (erased: ErasedSubject & { identities: string[] }) => Promise<void> {
  return async ({ workspace, scope, identities }) => {
    const bots = Object.entries(deps.directory().config.bots).filter(
      ([, bot]) => bot.workspace === workspace,
    );
    const cids = new Set<string>();
    for (const identity of identities) {
      for (const [botId] of bots) cids.add(deps.keys.conversationId(botId, identity));
    }
    const { deadLetters } = await eraseConversations(deps.redis, deps.store, cids);
    await deps.store.forgetLive(workspace, cids);
    if (deadLetters > 0)
      deps.logger.info('dead letters of an erased user removed', { workspace, removed: deadLetters });
    // Events still queued, retrying or given up name the user and their number: they go too, undelivered.
    await deps.events.forget({ workspace, scope, identities });
  };
}
