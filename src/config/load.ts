// Loads the operator configuration: files → ${NAME} substitution → merge → schema → semantic checks.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkConfigValues } from './checks.js';
import { issueProblems, isPlainObject } from './issues.js';
import type { PathProblem } from './issues.js';
import { ConfigError, formatPath } from './problems.js';
import type { ConfigProblem } from './problems.js';
import { ConfigSchema } from './schema.js';
import type { Config } from './schema.js';
import { locate, readSource } from './source.js';
import type { Env, SourceFile } from './source.js';

export interface ConfigFileText {
  file: string;
  text: string;
}

/**
 * Reads a YAML file, or every *.yaml (and *.yml) file of a directory in name order, and validates it.
 * Throws ConfigError with every problem found.
 */
export async function loadConfig(opts: {
  path: string;
  env: Record<string, string | undefined>;
}): Promise<Config> {
  return (await checkConfigFiles(opts)).config;
}

/** The same as loadConfig, with the warnings (what may be a mistake but does not stop a start). */
export async function checkConfigFiles(opts: {
  path: string;
  env: Record<string, string | undefined>;
}): Promise<{ config: Config; warnings: ConfigProblem[] }> {
  let files: string[];
  try {
    const info = await stat(opts.path);
    files = info.isDirectory()
      ? (await readdir(opts.path))
          .filter((name) => /\.ya?ml$/.test(name))
          .sort()
          .map((name) => join(opts.path, name))
      : [opts.path];
  } catch (err) {
    throw new ConfigError([
      { file: opts.path, path: '', message: `cannot read the configuration: ${reason(err)}.` },
    ]);
  }
  if (files.length === 0) {
    throw new ConfigError([
      {
        file: opts.path,
        path: '',
        message: 'the directory has no *.yaml files.',
        hint: 'add a file such as switchboard.yaml.',
      },
    ]);
  }
  const texts: ConfigFileText[] = [];
  const unreadable: ConfigProblem[] = [];
  for (const file of files) {
    try {
      texts.push({ file, text: await readFile(file, 'utf8') });
    } catch (err) {
      unreadable.push({ file, path: '', message: `cannot read the file: ${reason(err)}.` });
    }
  }
  if (unreadable.length > 0) throw new ConfigError(unreadable);
  return checkConfigText(texts, opts.env);
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return (err as Error).message;
}

/** Sections whose entries may be spread over several files; every other top-level key has one owner. */
const MERGED_SECTIONS = new Set(['workspaces', 'bots']);

/** The same as loadConfig, from text already read; `files` are merged in the order given. */
export function parseConfigText(files: ConfigFileText[], env: Env): Config {
  return checkConfigText(files, env).config;
}

/** parseConfigText with its warnings. */
export function checkConfigText(
  files: ConfigFileText[],
  env: Env,
): { config: Config; warnings: ConfigProblem[] } {
  const sources: SourceFile[] = [];
  const fileProblems: ConfigProblem[] = [];
  for (const { file, text } of files) {
    const { source, problems } = readSource(file, text, env);
    sources.push(source);
    fileProblems.push(...problems);
  }
  // A duplicate key is reported and the file read on (its last value wins); a syntax error stops here.
  if (sources.some((s) => s.doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')))
    throw new ConfigError(sortProblems(fileProblems, sources));

  const merged: Record<string, unknown> = {};
  const owners = new Map<string, SourceFile>();
  for (const source of sources) {
    const content: unknown = source.doc.toJS({ maxAliasCount: 1000 });
    if (content === null || content === undefined) continue;
    if (!isPlainObject(content)) {
      fileProblems.push({
        file: source.file,
        line: 1,
        path: '',
        message: 'the file must be a mapping with the keys server, twilio, workspaces and bots.',
      });
      continue;
    }
    for (const [key, value] of Object.entries(content)) {
      if (MERGED_SECTIONS.has(key) && (isPlainObject(value) || value === null)) {
        const section = isPlainObject(merged[key]) ? merged[key] : {};
        if (merged[key] === undefined) merged[key] = section;
        owners.set(key, owners.get(key) ?? source);
        for (const [id, entry] of Object.entries(value ?? {})) {
          const earlier = owners.get(`${key}\0${id}`);
          if (earlier !== undefined) {
            fileProblems.push(
              duplicate(source, earlier, [key, id], key === 'bots' ? `bot "${id}"` : `workspace "${id}"`),
            );
            continue;
          }
          section[id] = entry;
          owners.set(`${key}\0${id}`, source);
        }
      } else {
        const earlier = owners.get(key);
        if (earlier !== undefined) {
          fileProblems.push(duplicate(source, earlier, [key], `"${key}"`));
          continue;
        }
        merged[key] = value;
        owners.set(key, source);
      }
    }
  }

  const ownerOf = (path: readonly PropertyKey[]): SourceFile | undefined =>
    (MERGED_SECTIONS.has(String(path[0])) && path.length >= 2
      ? owners.get(`${String(path[0])}\0${String(path[1])}`)
      : undefined) ?? owners.get(String(path[0]));

  const parsed = ConfigSchema.safeParse(merged);
  const pathProblems: PathProblem[] = [];
  if (!parsed.success) {
    pathProblems.push(
      ...issueProblems(parsed.error.issues, ConfigSchema, {
        valueAt: (path) => valueAt(merged, path),
        redacted: (path) => {
          const source = ownerOf(path);
          return source !== undefined && locate(source, path).fromEnv;
        },
      }),
    );
  }
  const checked = checkConfigValues(merged);
  pathProblems.push(...checked.problems);

  const fallback = sources[0]?.file ?? '(no file)';
  const locatedProblem = (p: PathProblem): ConfigProblem[] => {
    const source = ownerOf(p.path);
    const located = source === undefined ? undefined : locate(source, p.path, p.atKey);
    if (located?.unresolved) return [];
    const line = located?.line;
    return [
      {
        file: source?.file ?? fallback,
        ...(line === undefined ? {} : { line }),
        path: formatPath(p.path),
        message: sentence(p.message),
        ...(p.hint === undefined ? {} : { hint: p.hint }),
      },
    ];
  };
  const problems = [...fileProblems, ...pathProblems.flatMap(locatedProblem)];
  if (problems.length > 0 || !parsed.success) throw new ConfigError(sortProblems(problems, sources));
  const warnings = checked.warnings
    .flatMap(locatedProblem)
    .map((w) => ({ ...w, message: `warning: ${w.message}` }));
  return { config: parsed.data, warnings: sortProblems(warnings, sources) };
}

function duplicate(
  source: SourceFile,
  earlier: SourceFile,
  path: PropertyKey[],
  what: string,
): ConfigProblem {
  const line = locate(source, path, true).line;
  const earlierLine = locate(earlier, path, true).line;
  return {
    file: source.file,
    ...(line === undefined ? {} : { line }),
    path: formatPath(path),
    message: `${what} is also defined in ${earlier.file}${earlierLine === undefined ? '' : `:${earlierLine}`}.`,
    hint: 'define it in one file only.',
  };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const segment of path) {
    if (Array.isArray(value) && typeof segment === 'number') value = value[segment];
    else if (isPlainObject(value) && Object.hasOwn(value, String(segment))) value = value[String(segment)];
    else return undefined;
  }
  return value;
}

function sentence(message: string): string {
  return /[.?!]$/.test(message) ? message : `${message}.`;
}

// File order as loaded, then line: the order an operator reads the files in.
function sortProblems(problems: ConfigProblem[], sources: SourceFile[]): ConfigProblem[] {
  const order = new Map(sources.map((s, i) => [s.file, i]));
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        (order.get(a.p.file) ?? -1) - (order.get(b.p.file) ?? -1) ||
        (a.p.line ?? 0) - (b.p.line ?? 0) ||
        a.i - b.i,
    )
    .map(({ p }) => p);
}
