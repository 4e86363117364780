// The operator API's Idempotency-Key: the first request with a key does the work; a repeat within 24 hours
// (in the same workspace, with the same body) gets the same answer, and one at the same time waits for it.
import type { Request, Response } from 'express';
import type { IdempotencyStore, StoredAnswer } from '../store/idempotency.js';
import { ApiError } from './api-error.js';

/** How long the first request with a key holds it (a crash lets it go then) and how long a repeat waits for it. */
const IDEMPOTENCY_LEASE_MS = 30_000;
const IDEMPOTENCY_WAIT_MS = 10_000;
export const MAX_IDEMPOTENCY_KEY = 255;

const errorBody = (e: ApiError) =>
  JSON.stringify({
    error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) },
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What runs a POST's work under its Idempotency-Key (400 without one). */
export type IdempotentRunner = (
  req: Request,
  res: Response,
  endpoint: string,
  body: unknown,
  work: (key: string) => Promise<StoredAnswer>,
) => Promise<void>;

export function idempotentRunner(
  store: IdempotencyStore,
  callerOf: (res: Response) => { workspace: string },
): IdempotentRunner {
  /**
   * Runs `work` once per Idempotency-Key and body in the workspace: a repeat gets the first answer (its
   * success or a 409), one at the same time waits for it. Other errors (a bad body, an unknown bot) are not kept:
   * the corrected request may use the same key.
   */
  return async function idempotent(
    req: Request,
    res: Response,
    endpoint: string,
    body: unknown,
    work: (key: string) => Promise<StoredAnswer>,
  ): Promise<void> {
    const key = req.get('idempotency-key') ?? '';
    if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY) {
      throw new ApiError(
        400,
        'idempotency_key_required',
        `Send an Idempotency-Key header (a unique string of at most ${MAX_IDEMPOTENCY_KEY} characters, such as a UUID) so that a retried request is not sent twice.`,
      );
    }
    const workspace = callerOf(res).workspace;
    const canonical = `${endpoint}\n${JSON.stringify(body)}`;
    const deadline = Date.now() + IDEMPOTENCY_WAIT_MS;
    for (;;) {
      const claimed = await store.claim(workspace, key, canonical, IDEMPOTENCY_LEASE_MS);
      if (claimed.state === 'new') {
        let answer: StoredAnswer;
        try {
          answer = await work(key);
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 409)) {
            await store.release(claimed.claim).catch(() => undefined);
            throw error;
          }
          answer = { status: 409, body: errorBody(error) };
        }
        await store.complete(claimed.claim, answer);
        res.status(answer.status).type('application/json').send(answer.body);
        return;
      }
      if (!claimed.sameBody) {
        throw new ApiError(
          422,
          'idempotency_key_reused',
          'This Idempotency-Key was used in the last 24 hours for another request: use a new key for a new request.',
        );
      }
      if (claimed.state === 'done') {
        res.set('Idempotent-Replayed', 'true');
        res.status(claimed.status).type('application/json').send(claimed.body);
        return;
      }
      if (Date.now() > deadline) {
        throw new ApiError(
          409,
          'idempotency_key_in_use',
          'A request with this Idempotency-Key is still being handled: retry in a few seconds for its answer.',
        );
      }
      await sleep(20);
    }
  };
}
