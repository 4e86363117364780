// The port to the operator: events their endpoint receives, problems their log shows.

export type OperatorEventType =
  | 'conversation.started'
  | 'conversation.ended'
  | 'user.verified'
  | 'identity.moved'
  | 'auth.failed'
  | 'user.locked'
  | 'user.opted_out'
  | 'user.opted_in'
  | 'message.failed'
  | 'link_codes.locked'
  // handoff
  | 'conversation.handoff'
  | 'conversation.message'
  | 'conversation.resumed';

/** Implemented by `src/turn/turn-services.ts` over the event queue and the log. */
export interface OperatorEventsPort {
  emit(type: OperatorEventType, data?: Record<string, unknown>, userId?: string): void;
  /** Tells the operator (through the log) about a problem of the bot's configuration met at run time. */
  report(problem: string): void;
}
