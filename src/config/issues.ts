// Turns zod's issues into problems an operator can act on: plain words, the right path, a hint.
import { z } from 'zod';
import { closest, suggestion } from './problems.js';

/** A problem located by its config path; the loader finds its file and line. */
export interface PathProblem {
  path: PropertyKey[];
  message: string;
  hint?: string;
  /** Point at the key rather than its value (an unknown or duplicated key). */
  atKey?: boolean;
  /** Set for "missing key" problems, so a misspelt key does not also report the key it meant. */
  missing?: boolean;
  /** Set for "unknown key" problems: the known key it is closest to. */
  meant?: string;
}

/** Reads a value as the issue saw it; `redacted` tells whether it may be quoted back. */
export interface ProblemContext {
  valueAt(path: readonly PropertyKey[]): unknown;
  redacted(path: readonly PropertyKey[]): boolean;
}

type Issue = z.core.$ZodIssue;

export function issueProblems(issues: readonly Issue[], root: z.ZodType, ctx: ProblemContext): PathProblem[] {
  const out = issues.flatMap((issue) => translate(issue, [], root, ctx));
  // `promt:` reports an unknown key; "prompt is missing" would only repeat it.
  const meant = new Set(
    out.filter((p) => p.meant !== undefined).map((p) => pathKey([...p.path.slice(0, -1), p.meant!])),
  );
  return out.filter((p) => !(p.missing && meant.has(pathKey(p.path))));
}

function pathKey(path: readonly PropertyKey[]): string {
  return JSON.stringify(path.map(String));
}

function translate(issue: Issue, base: PropertyKey[], root: z.ZodType, ctx: ProblemContext): PathProblem[] {
  const path = [...base, ...issue.path];
  const value = ctx.valueAt(path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const known = knownKeys(root, path, ctx);
        const meant = closest(key, known);
        if (isTextsPath(path)) return unknownText(key, [...path, key], meant);
        return {
          path: [...path, key],
          message: `unknown key "${key}"`,
          hint: suggestion(key, known, 'Valid keys'),
          atKey: true,
          ...(meant === undefined ? {} : { meant }),
        };
      });
    case 'invalid_union':
      if (issue.discriminator !== undefined) return [discriminatorProblem(issue, path, value)];
      return [unionProblem(issue, path, value, ctx)];
    case 'invalid_key':
      return issue.issues
        .flatMap((inner) => translate(inner as Issue, path, root, ctx))
        .map((p) => ({ ...p, atKey: true }));
    case 'invalid_type':
      return [typeProblem(issue.expected, path, value, ctx)];
    case 'too_small':
      return [
        sizeProblem('small', issue.origin, Number(issue.minimum), issue.inclusive ?? true, path, value),
      ];
    case 'too_big':
      return [sizeProblem('big', issue.origin, Number(issue.maximum), issue.inclusive ?? true, path, value)];
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      const got = typeof value === 'string' ? value : undefined;
      const near = got === undefined ? undefined : closest(got, allowed);
      return [
        {
          path,
          message: `must be one of ${allowed.join(', ')}, got ${describe(value, ctx.redacted(path))}`,
          ...(near === undefined ? {} : { hint: `did you mean "${near}"?` }),
        },
      ];
    }
    case 'custom':
      // The step schema says what is not a step, with the registry's kinds (see `stepSchema`).
      if (Array.isArray(issue.params?.stepKinds))
        return [stepProblem(path, value, issue.params.stepKinds as string[], ctx)];
      return [ownProblem(issue, path)];
    default:
      return [ownProblem(issue, path)];
  }
}

/** `bots.<id>.texts` or `bots.<id>.texts.voice`: its keys are the names of the engine's texts. */
function isTextsPath(path: readonly PropertyKey[]): boolean {
  return (
    path[0] === 'bots' &&
    path[2] === 'texts' &&
    (path.length === 3 || (path.length === 4 && path[3] === 'voice'))
  );
}

function unknownText(key: string, path: PropertyKey[], meant: string | undefined): PathProblem {
  const where = 'The texts and their defaults are listed in docs/configuration.md.';
  return {
    path,
    message: `there is no text named "${key}"`,
    hint: meant === undefined ? where : `did you mean ${meant}? ${where}`,
    atKey: true,
    ...(meant === undefined ? {} : { meant }),
  };
}

// Our own refinements carry "message\nhint".
function ownProblem(issue: Issue, path: PropertyKey[]): PathProblem {
  const [message = issue.message, hint] = issue.message.split('\n');
  return { path, message, ...(hint === undefined ? {} : { hint }) };
}

function stepProblem(
  path: PropertyKey[],
  value: unknown,
  kinds: readonly string[],
  ctx: ProblemContext,
): PathProblem {
  const hint = `a step is a mapping with one key, its kind: ${kinds.join(', ')}.`;
  if (!isPlainObject(value)) {
    return { path, message: `expected a step, got ${describe(value, ctx.redacted(path))}`, hint };
  }
  const keys = Object.keys(value);
  const known = keys.filter((k) => kinds.includes(k));
  if (keys.length === 0) return { path, message: 'empty step', hint };
  if (known.length === 0) {
    const key = keys[0]!;
    return {
      path: [...path, key],
      message: `unknown step "${key}"`,
      hint: suggestion(key, kinds, 'Steps'),
      atKey: true,
    };
  }
  return {
    path,
    message: `a step has exactly one key, this one has ${keys.join(', ')}`,
    hint:
      known.length === 1
        ? `indent the other keys under "${known[0]}:", or make them separate steps.`
        : 'make each of them a step of its own, each starting with "- ".',
  };
}

function discriminatorProblem(
  issue: z.core.$ZodIssueInvalidUnion,
  path: PropertyKey[],
  value: unknown,
): PathProblem {
  const options = ('options' in issue ? (issue.options ?? []) : []).map(String);
  const quoted = options.map((o) => `"${o}"`).join(' or ');
  if (value === undefined) {
    return {
      path,
      message: `missing; expected ${quoted}`,
      hint: `add "type: ${options[0] ?? ''}" or another type.`,
    };
  }
  const hint = typeof value === 'string' ? suggestion(value, options, 'Types') : `use ${quoted}.`;
  return { path, message: `unknown type ${describe(value, false)}`, hint };
}

function unionProblem(
  issue: z.core.$ZodIssueInvalidUnion,
  path: PropertyKey[],
  value: unknown,
  ctx: ProblemContext,
): PathProblem {
  const expected = issue.errors.map((errs) => {
    const only = errs.length === 1 ? errs[0] : undefined;
    return only?.code === 'invalid_type' && only.path.length === 0 ? typeName(only.expected) : undefined;
  });
  if (expected.every((e) => e !== undefined)) {
    return { path, message: `expected ${expected.join(' or ')}, got ${describe(value, ctx.redacted(path))}` };
  }
  return { path, message: 'does not match any of the forms this key accepts' };
}

function typeProblem(
  expected: string,
  path: PropertyKey[],
  value: unknown,
  ctx: ProblemContext,
): PathProblem {
  const wanted = typeName(expected);
  if (value === undefined) return { path, message: `missing; expected ${wanted}`, missing: true };
  const problem: PathProblem = {
    path,
    message: `expected ${wanted}, got ${describe(value, ctx.redacted(path))}`,
  };
  if (typeof value === 'string') {
    if ((expected === 'number' || expected === 'int') && /^-?\d+(\.\d+)?$/.test(value.trim())) {
      problem.hint = 'remove the quotes around the number.';
    } else if (expected === 'boolean' && /^(true|false)$/i.test(value.trim())) {
      problem.hint = `write true or false without quotes.`;
    }
  } else if (expected === 'int' && typeof value === 'number') {
    problem.hint = `use a whole number.`;
  }
  return problem;
}

function sizeProblem(
  which: 'small' | 'big',
  origin: string,
  limit: number,
  inclusive: boolean,
  path: PropertyKey[],
  value: unknown,
): PathProblem {
  if (origin === 'array' || origin === 'set') {
    const items = `${limit} ${limit === 1 ? 'item' : 'items'}`;
    return {
      path,
      message: which === 'small' ? `must have at least ${items}` : `must have at most ${items}`,
    };
  }
  if (origin === 'string') {
    if (which === 'small' && limit === 1) return { path, message: 'must not be empty' };
    return {
      path,
      message: `must be ${which === 'small' ? 'at least' : 'at most'} ${limit} characters long`,
    };
  }
  const bound =
    which === 'small'
      ? inclusive
        ? `at least ${limit}`
        : `greater than ${limit}`
      : inclusive
        ? `at most ${limit}`
        : `less than ${limit}`;
  return { path, message: `must be ${bound}, got ${String(value)}` };
}

function typeName(expected: string): string {
  switch (expected) {
    case 'string':
      return 'text';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
      return 'a mapping (key: value)';
    case 'array':
      return 'a list';
    case 'null':
      return 'nothing';
    default:
      return expected;
  }
}

/** How a value reads in a message; a value from the environment is never shown. */
export function describe(value: unknown, redacted: boolean): string {
  if (value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string': {
      if (redacted) return 'text';
      const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
      return `"${shown}"`;
    }
    case 'number':
      return redacted ? 'a number' : `the number ${value}`;
    case 'boolean':
      return String(value);
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// --- schema introspection, to list the keys a mapping accepts (through zod's public classes) ---

function knownKeys(root: z.ZodType, path: readonly PropertyKey[], ctx: ProblemContext): string[] {
  let schema: z.ZodType | undefined = root;
  for (let i = 0; i <= path.length && schema !== undefined; i++) {
    schema = unwrap(schema, ctx.valueAt(path.slice(0, i)));
    if (i === path.length) break;
    const segment = String(path[i]);
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[segment];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else schema = undefined;
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType, value: unknown): z.ZodType {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = (current.out instanceof z.ZodTransform ? current.in : current.out) as z.ZodType;
    } else if (current instanceof z.ZodUnion) {
      current = pickOption(current.options as readonly z.ZodType[], value);
    } else return current;
  }
}

// The union member the value was meant to be: the one whose discriminator it names, else most keys in common.
function pickOption(options: readonly z.ZodType[], value: unknown): z.ZodType {
  const keys = isPlainObject(value) ? Object.keys(value) : [];
  let best = options[0]!;
  let bestScore = -1;
  for (const option of options) {
    const shape = shapeOf(option);
    if (shape === undefined) continue;
    let score = keys.filter((k) => k in shape).length;
    const type = shape.type;
    if (isPlainObject(value) && type instanceof z.ZodLiteral && type.values.has(value.type as never))
      score += 100;
    if (score > bestScore) {
      best = option;
      bestScore = score;
    }
  }
  return best;
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const inner = unwrap(schema, undefined);
  return inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodType>) : undefined;
}
