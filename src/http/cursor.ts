// The operator API's page cursors: opaque to the caller (base64url JSON), checked when they come back.
import { ApiError } from './api-error.js';

export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The cursor's content if `valid` accepts it; a cursor that was not ours (or was edited) is a 422. */
export function decodeCursor<T>(cursor: string, valid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!valid(value)) {
    throw new ApiError(422, 'validation_failed', 'query cursor: not a nextCursor of this list', [
      { path: 'cursor', message: 'not a nextCursor of this list' },
    ]);
  }
  return value;
}

function record(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const whole = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const text = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 256;

/** A history page's end: the time `b` of its oldest entry and how many entries of that millisecond were given. */
export const isHistoryCursor = (v: unknown): v is { b: number; n: number } =>
  record(v) && whole(v.b) && whole(v.n);
/** The last audit entry's stream id. */
export const isAuditCursor = (v: unknown): v is { id: string } =>
  record(v) && typeof v.id === 'string' && /^\d+-\d+$/.test(v.id);
/** The last conversation: its score (last activity) and id. */
export const isLiveCursor = (v: unknown): v is { at: number; cid: string } =>
  record(v) && whole(v.at) && text(v.cid);
/** The last dead letter: its time and id. */
export const isDeadLetterCursor = (v: unknown): v is { at: number; id: string } =>
  record(v) && whole(v.at) && text(v.id);
