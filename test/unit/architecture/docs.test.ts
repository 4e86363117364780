// docs/architecture.md opens with the folder map as the tree really is, and no document cites sections
// of a contract that is not in the repository.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/processes.js';

/** Every folder under `root` that holds a TypeScript file of its own, repository-relative, with a slash. */
function codeFolders(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    const entries = readdirSync(join(REPO_ROOT, dir));
    if (entries.some((e) => e.endsWith('.ts'))) found.push(`${dir}/`);
    for (const e of entries) if (statSync(join(REPO_ROOT, dir, e)).isDirectory()) walk(`${dir}/${e}`);
  };
  walk(root);
  return found;
}

/** The first column of the fenced block under "Where things live". */
function mappedFolders(): string[] {
  const doc = readFileSync(join(REPO_ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Where things live'));
  const block = section.slice(
    section.indexOf('```\n') + 4,
    section.indexOf('\n```', section.indexOf('```\n') + 4),
  );
  return block.split('\n').map((line) => line.split(/\s+/)[0]!);
}

function textFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|md|yaml|yml|html|css)$/.test(f))
    .map((f) => join(dir, f));
}

describe('docs/architecture.md', () => {
  it('opens with a map of every code folder there is, and of no other', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/architecture.md'), 'utf8');
    expect(doc.split('\n').find((line) => line.startsWith('## '))).toBe('## Where things live');
    const real = [...codeFolders('src'), ...codeFolders('channels')]
      .map((f) => (f === 'src/' ? 'src/*.ts' : f))
      .sort();
    expect([...mappedFolders()].sort()).toEqual(real);
  });

  it('says where a new channel, step kind, auth method, operator endpoint and metric go', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/architecture.md'), 'utf8');
    for (const change of [
      'a new channel',
      'a new step kind',
      'a new auth method',
      'a new operator endpoint',
      'a new metric',
    ])
      expect(doc).toMatch(new RegExp(`\\|\\s*${change}\\s*\\|`));
  });
});

describe('documents and code', () => {
  it('cite no numbered sections of a document that is not in the repository', () => {
    const files = ['README.md', ...['docs', 'src', 'channels', 'test', 'bench', 'config'].flatMap(textFiles)];
    const citing = files.filter((file) =>
      /\bSPEC\s*§?\s*\d+(\.\d+)*/.test(readFileSync(join(REPO_ROOT, file), 'utf8')),
    );
    expect(citing).toEqual([]);
  });
});
