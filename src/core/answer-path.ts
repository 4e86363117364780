// The paths a config uses to read a JSON answer (`save`, `token.path`, `userIdPath`): syntax and lookup.

/**
 * Splits `data.items[0].amount` (or `data.items.0.amount`) into `['data', 'items', 0, 'amount']`.
 * A bracketed index is a number; a dotted all-digit segment stays a string, which also indexes a list.
 */
export function answerPathSegments(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const match of path.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) {
    segments.push(match[1] !== undefined ? Number(match[1]) : match[2]!);
  }
  return segments;
}

/** The value at `path` in a parsed JSON answer, or undefined when any segment is missing. */
export function readAnswerPath(answer: unknown, path: string): unknown {
  let value = answer;
  for (const segment of answerPathSegments(path)) {
    if (Array.isArray(value)) {
      const index = typeof segment === 'number' ? segment : /^\d+$/.test(segment) ? Number(segment) : NaN;
      value = Number.isInteger(index) ? value[index] : undefined;
    } else if (typeof value === 'object' && value !== null && Object.hasOwn(value, String(segment))) {
      value = (value as Record<string, unknown>)[String(segment)];
    } else return undefined;
  }
  return value;
}
