// One configuration file as parsed YAML: ${NAME} substitution and mapping a config path back to its line.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document, Node, Scalar } from 'yaml';
import { formatPath } from './problems.js';
import type { ConfigProblem } from './problems.js';

export interface SourceFile {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
  /** Scalars whose text came from the environment: their values are never echoed in a problem. */
  readonly fromEnv: Set<Node>;
  /** Scalars naming a variable that is not set: already reported, so their other problems are noise. */
  readonly unresolved: Set<Node>;
}

export type Env = Record<string, string | undefined>;

// The closing brace is optional in the match so that an unclosed `${NAME` is reported, not kept as text.
const REFERENCE = /\$(\$?)\{([^}]*)(\}?)/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses one file; YAML syntax errors and missing variables come back as problems. */
export function readSource(
  file: string,
  text: string,
  env: Env,
): { source: SourceFile; problems: ConfigProblem[] } {
  const lines = new LineCounter();
  // uniqueKeys stays on: a key written twice in one mapping is almost always a mistake.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  const source: SourceFile = { file, doc, lines, fromEnv: new Set(), unresolved: new Set() };
  // An error found at the end of the text (an unclosed quote) would otherwise point past the last line.
  const lastLine = Math.max(1, text.split('\n').length - (text.endsWith('\n') ? 1 : 0));
  const problems: ConfigProblem[] = doc.errors.map((err) => {
    if (err.code === 'DUPLICATE_KEY') {
      const duplicate = duplicateKey(source, err.pos[0]);
      if (duplicate) return duplicate;
    }
    const line = err.linePos?.[0].line;
    return {
      file,
      ...(line === undefined ? {} : { line: Math.min(line, lastLine) }),
      path: '',
      message: `YAML syntax error: ${yamlMessage(err.message)}.`,
    };
  });
  // A key written twice leaves a document that can be read on: the other problems are still found.
  if (doc.errors.some((err) => err.code !== 'DUPLICATE_KEY')) return { source, problems };
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key') return;
      keepPhoneNumberText(node);
      if (typeof node.value === 'string' && node.value.includes('${')) {
        substitute(source, node, formatPath(configPath(ancestors, node)), env, problems);
      }
    },
  });
  return { source, problems };
}

/** The problem of the key at `offset`, written a second time in its mapping: it names the key and both lines. */
function duplicateKey(source: SourceFile, offset: number): ConfigProblem | undefined {
  let problem: ConfigProblem | undefined;
  visit(source.doc, {
    Pair(_key, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return;
      const name = String(pair.key.value);
      const parent = ancestors[ancestors.length - 1];
      const first = isMap(parent)
        ? parent.items.find((p) => isScalar(p.key) && String(p.key.value) === name)
        : undefined;
      const firstAt = isScalar(first?.key) ? first.key.range?.[0] : undefined;
      problem = {
        file: source.file,
        line: source.lines.linePos(offset).line,
        path: formatPath([
          ...configPath(ancestors.slice(0, -1), ancestors[ancestors.length - 1] as Node),
          name,
        ]),
        message: `the key "${name}" is written twice in the same mapping${firstAt === undefined ? '' : ` (first at line ${source.lines.linePos(firstAt).line})`}.`,
        hint: 'keep one of them: YAML allows each key once per mapping.',
      };
      return visit.BREAK;
    },
  });
  return problem;
}

function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

// YAML reads a plain `+15005550006` as an integer; numbers here are phone numbers, so keep the text.
function keepPhoneNumberText(node: Scalar): void {
  if (node.type === 'PLAIN' && typeof node.source === 'string' && /^\+\d+$/.test(node.source)) {
    node.value = node.source;
  }
}

// The config path of a node, from the chain of YAML collections and pairs above it.
function configPath(ancestors: readonly unknown[], node: Node): PropertyKey[] {
  const path: PropertyKey[] = [];
  const chain = [...ancestors, node];
  chain.forEach((item, i) => {
    if (isPair(item) && isScalar(item.key)) path.push(String(item.key.value));
    else if (isSeq(item)) path.push(item.items.indexOf(chain[i + 1] as never));
  });
  return path;
}

function substitute(
  source: SourceFile,
  node: Scalar,
  path: string,
  env: Env,
  problems: ConfigProblem[],
): void {
  const text = node.value as string;
  const before = problems.length;
  let replaced = false;
  const out = text.replace(
    REFERENCE,
    (match: string, escape: string, name: string, close: string, offset: number) => {
      if (escape === '$') return match.slice(1);
      if (close === '' || !ENV_NAME.test(name)) {
        problems.push({
          file: source.file,
          line: scalarLine(source, node, text, offset),
          path,
          message: `"${match}" is not a valid environment variable reference.`,
          hint: 'write ${NAME} with letters, digits and "_", or $${...} for a literal "${".',
        });
        return match;
      }
      const value = env[name];
      if (value === undefined) {
        problems.push({
          file: source.file,
          line: scalarLine(source, node, text, offset),
          path,
          message: `environment variable ${name} is not set.`,
          hint: `set ${name} in the environment, or write $\${${name}} for a literal "\${${name}}".`,
        });
        return match;
      }
      replaced = true;
      return value;
    },
  );
  if (replaced) source.fromEnv.add(node);
  if (problems.length > before) source.unresolved.add(node);
  node.value = typedValue(node, text, out);
}

// `port: ${PORT}` should give a number, as `port: 3000` would; a quoted reference always stays text.
function typedValue(node: Scalar, original: string, text: string): unknown {
  if (node.type !== 'PLAIN' || !/^\$\{[^}]*\}$/.test(original)) return text;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

function scalarLine(source: SourceFile, node: Scalar, text: string, offset: number): number | undefined {
  const start = node.range?.[0];
  if (start === undefined) return undefined;
  const line = source.lines.linePos(start).line;
  // A literal block keeps its line breaks, so the variable's own line can be counted.
  if (node.type === 'BLOCK_LITERAL') return line + 1 + (text.slice(0, offset).match(/\n/g)?.length ?? 0);
  return line;
}

export interface Located {
  line?: number;
  /** The value came from the environment: show no value in the message. */
  fromEnv: boolean;
  /** The value names a variable that is not set. */
  unresolved: boolean;
}

/**
 * The line of the value at `path`; `atKey` points at the key instead (for a key that is wrong itself).
 * A path that does not exist (a missing key) points at the nearest enclosing key.
 */
export function locate(source: SourceFile, path: readonly PropertyKey[], atKey = false): Located {
  let node: unknown = source.doc.contents;
  let keyNode: Node | undefined;
  let complete = true;
  let depth = 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(source.doc);
    if (isMap(node)) {
      // The last pair of a key written twice: its value is the one the configuration keeps.
      const pair = node.items.findLast((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) {
        complete = false;
        break;
      }
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      keyNode = undefined;
      node = node.items[segment];
    } else {
      complete = false;
      break;
    }
    depth++;
  }
  const lineOf = (n: Node | undefined): number | undefined =>
    n?.range ? source.lines.linePos(n.range[0]).line : undefined;
  const valueNode = node as Node | null | undefined;
  if (!complete) {
    const line = lineOf(keyNode) ?? (depth > 0 ? lineOf(valueNode ?? undefined) : undefined);
    return { line, fromEnv: false, unresolved: false };
  }
  const fromEnv = isScalar(valueNode) && source.fromEnv.has(valueNode);
  const unresolved = isScalar(valueNode) && source.unresolved.has(valueNode);
  if (atKey || valueNode === null || valueNode === undefined || (!isScalar(valueNode) && keyNode)) {
    return { line: lineOf(keyNode) ?? lineOf(valueNode ?? undefined), fromEnv, unresolved };
  }
  return { line: lineOf(valueNode), fromEnv, unresolved };
}
