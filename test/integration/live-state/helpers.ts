// Live-state tests: the operator API of a real gateway, called with the test workspace's key.
import { jsonRequest, type JsonAnswer } from '../../support/json-api.js';
import { configVariables } from '../../support/config.js';
import type { DialogHarness } from '../dialog/helpers.js';

export const API_KEY = configVariables().TEST_API_KEY!;

/** The audit log's name for the test key: "key_" and 16 hex digits of its SHA-256 (printf %s KEY | sha256sum). */
export const KEY_FINGERPRINT = 'key_ccfb492cddc7d460';

export function api(h: DialogHarness, method: string, path: string, body?: unknown): Promise<JsonAnswer> {
  return jsonRequest(h.url, method, path, { key: API_KEY, ...(body !== undefined ? { body } : {}) });
}

/** Every page of a listing, following `nextCursor`: the pages' item counts and the items. */
export async function allPages<T>(
  h: DialogHarness,
  path: string,
  field: string,
): Promise<{ sizes: number[]; items: T[] }> {
  const sizes: number[] = [];
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(h, 'GET', cursor ? `${path}${sep}cursor=${cursor}` : path);
    if (page.status !== 200) throw new Error(`${path}: ${page.status} ${page.text}`);
    const json = page.json as Record<string, unknown>;
    const list = json[field] as T[];
    sizes.push(list.length);
    items.push(...list);
    cursor = json.nextCursor as string | null;
  } while (cursor);
  return { sizes, items };
}
