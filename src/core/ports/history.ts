// The port to the conversation's recorded history: what a handoff hands the agent.

/** One line of the history as the operator may see it: a secret line's text is `[redacted]`. */
export interface HistoryItem {
  direction: 'in' | 'out';
  text: string;
  /** When it was recorded (ms). */
  at: number;
  secret?: boolean;
}

/** Implemented by `src/turn/identity-services.ts` over the identity store's history. */
export interface HistoryPort {
  /** The last `limit` lines of the conversation's user's history, oldest first, secrets redacted. */
  recentHistory(limit: number): Promise<HistoryItem[]>;
}
