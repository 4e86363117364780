// Configuration problems: what check-config prints and what ConfigError carries.

/** One thing wrong with the configuration, located as precisely as the YAML allows. */
export interface ConfigProblem {
  file: string;
  /** 1-based line in `file`; absent when the problem is about the file as a whole. */
  line?: number;
  /** Where in the configuration, e.g. `bots.acme-bank.flows.main[1].goto`; '' for the file itself. */
  path: string;
  message: string;
  hint?: string;
}

/** Thrown by loadConfig and parseConfigText; lists every problem found, never just the first. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`invalid configuration (${count}):\n${formatProblems(problems)}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** One line per problem: `file:line: path: message. Hint: ...`. */
export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map(formatProblem).join('\n');
}

function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  const path = p.path === '' ? '' : `${p.path}: `;
  const hint = p.hint === undefined ? '' : ` Hint: ${p.hint}`;
  return `${where}: ${path}${p.message}${hint}`;
}

/** Renders a path as operators read it: `bots.acme-bank.flows.main[1].goto`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      if (/^[A-Za-z0-9_+-]+$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** The closest candidate to a misspelt name, when it is close enough to be what was meant. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.floor(Math.max(name.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** "did you mean ...? Flows: a, b." — the hint that helps most when a name is wrong. */
export function suggestion(name: string, candidates: readonly string[], label: string): string {
  const near = closest(name, candidates);
  const list =
    candidates.length === 0 ? `There are no ${label.toLowerCase()}.` : `${label}: ${candidates.join(', ')}.`;
  return near === undefined ? list : `did you mean "${near}"? ${list}`;
}

// Optimal string alignment distance: a swapped pair of letters ("sya") counts as one edit.
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
