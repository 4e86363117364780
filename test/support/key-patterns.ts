// Tests match key names against the SCAN patterns the key builders give (src/store/keys.ts), never against hand-written names.

/** Whether a key name matches a Redis glob pattern (`*` only, as the key builders' patterns use). */
export function matchesPattern(pattern: string): (key: string) => boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return (key) => re.test(key);
}
