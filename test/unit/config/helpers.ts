// Shared helpers for the configuration tests: fixture paths and "what would check-config print".
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, formatProblems, parseConfigText } from '../../../src/config/index.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/configs/', import.meta.url));
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Reads a fixture under test/fixtures/configs/ and names it by that relative path in problems. */
export function fixture(name: string): { file: string; text: string } {
  return { file: name, text: readFileSync(FIXTURES + name, 'utf8') };
}

/** The formatted problems of the given files, or a failure when they load. */
export function problemsOf(
  files: { file: string; text: string }[],
  env: Record<string, string | undefined> = {},
): string {
  try {
    parseConfigText(files, env);
  } catch (err) {
    if (err instanceof ConfigError) return formatProblems(err.problems);
    throw err;
  }
  throw new Error('expected the configuration to be rejected');
}
