// Erasure of a user's conversations: every key of theirs, the per-message ones found by SCAN, and their dead letters.
import { keyHolders, type Connection } from './connections.js';
import type { ConversationStore } from './conversation-store.js';

/**
 * Removes the conversations' keys and dead letters; returns how many dead letters went. `forget()`
 * cannot name the keys with a minute or a provider id in their names (`hits:<minute>`, `sent:<MessageSid>`,
 * voice turns, and the `seen:<id>` marks of earlier versions): a SCAN finds them, on every master of a
 * cluster. Erasure is rare, and SCAN does not block Redis. One UNLINK per
 * conversation: its keys share one hash tag, two conversations' keys may not share a slot.
 */
export async function eraseConversations(
  redis: Connection,
  store: ConversationStore,
  cids: ReadonlySet<string>,
): Promise<{ deadLetters: number }> {
  for (const cid of cids) await store.forget(cid);
  const keys = store.keys;
  for (const node of keyHolders(redis)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', keys.conversationKeysPattern(), 'COUNT', 1000);
      cursor = next;
      const ours = new Map<string, string[]>();
      for (const key of found) {
        const cid = keys.conversationOfKey(key) ?? '';
        if (cids.has(cid)) ours.set(cid, [...(ours.get(cid) ?? []), key]);
      }
      for (const group of ours.values()) await redis.unlink(...group);
    } while (cursor !== '0');
  }
  // A dead-lettered turn keeps its event (sealed) and its reason: it goes with the conversation.
  return { deadLetters: await store.forgetDeadLetters(cids) };
}
