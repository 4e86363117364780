// The operator API's refusals: a status and a code the caller can act on, and a one-sentence message.

/** A refusal the caller can act on: its status and code are part of the API. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { path: string; message: string }[],
  ) {
    super(message);
  }
}
