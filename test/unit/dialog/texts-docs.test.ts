// The table of texts in docs/configuration.md is the English locale file: every name, default and spoken wording.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LOCALES, TEXT_NAMES } from '../../../src/core/dialog.js';

const DOC = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

/** The table's rows as [name, default, spoken], cells unquoted; the "said when" column is the docs' own. */
function documented(): string[][] {
  const start = DOC.indexOf('<!-- texts:start -->');
  const end = DOC.indexOf('<!-- texts:end -->');
  expect(start, 'docs/configuration.md has a texts table between its markers').toBeGreaterThan(0);
  const rows = DOC.slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2); // the header and its rule
  return rows.map((row) =>
    row
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .slice(0, 3)
      .map((cell) => cell.trim().replace(/^`|`$/g, '').replace(/\\\|/g, '|')),
  );
}

describe('docs/configuration.md', () => {
  it('lists every text of en.ts, in its order, with its English default and spoken wording', () => {
    const { text, voice } = LOCALES.en;
    const expected = TEXT_NAMES.map((name) => [
      name,
      text[name],
      (voice as Record<string, string>)[name] ?? '',
    ]);
    expect(documented()).toEqual(expected);
  });
});
