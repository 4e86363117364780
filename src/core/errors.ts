// Errors the core raises, one class per decision a caller has to make.

/** The bot's flows cannot go on (a bug in the flows, or a step not supported): retrying will not help. */
export class DialogError extends Error {
  override readonly name = 'DialogError';
}

/** Something outside us failed in a way that may pass: the caller may retry later. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}
