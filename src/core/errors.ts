// Errors the core raises, one class per decision a caller has to make.

/** The bot's flows cannot go on (a bug in the flows, or a step not supported): retrying will not help. */
export class DialogError extends Error {
  override readonly name = 'DialogError';
}

/**
 * A call to an operator API failed without an answer. Implemented by `src/net/errors.ts`; `retryable`
 * says whether the same call may be tried again, `refused` that configuration forbade it (never retried).
 * Messages name the host and the reason only: URLs, headers and bodies may carry secrets.
 */
export abstract class RemoteApiError extends Error {
  abstract readonly retryable: boolean;
  readonly refused: boolean = false;
  constructor(
    readonly host: string,
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    // Subclasses (the outbound errors) name themselves too; this covers any that does not.
    this.name = new.target.name;
  }
}
