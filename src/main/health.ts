// The health probe of a process without an HTTP port (a worker): it writes a health file while it is
// ready, and `switchboard health --file` reads it; without --file the probe asks /readyz over HTTP.
import { rename, rm, stat, readFile, writeFile } from 'node:fs/promises';

type Ready = () => Promise<{ ok: boolean; checks: Record<string, boolean> }>;

/** How often a running process rewrites its health file; a probe allows several missed writes. */
export const HEALTH_INTERVAL_MS = 5_000;
export const HEALTH_MAX_AGE_MS = 30_000;

/**
 * Checks `ready` (Redis answers, every worker loop runs) now and every `intervalMs`, and writes the
 * result to `path` each time: a probe that finds the file stale knows the process's loop is stuck.
 * Returns the function that stops writing and removes the file.
 */
export async function startHealthFile(
  path: string,
  ready: Ready,
  intervalMs = HEALTH_INTERVAL_MS,
): Promise<() => Promise<void>> {
  let writing: Promise<void> = Promise.resolve();
  const write = async () => {
    const state = await ready();
    const tmp = `${path}.${process.pid}.tmp`;
    // Written whole, then renamed: a probe never reads half a file.
    await writeFile(
      tmp,
      `${JSON.stringify({ status: state.ok ? 'ready' : 'not ready', checks: state.checks })}\n`,
    );
    await rename(tmp, path);
  };
  await write();
  const timer = setInterval(() => {
    writing = writing.then(write).catch(() => undefined);
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await writing;
    await rm(path, { force: true });
  };
}

/** One sentence saying why the process is not healthy, or undefined when it is. */
export async function healthProblem(opts: {
  file?: string;
  maxAgeMs: number;
  url: string;
  now?: () => number;
}): Promise<string | undefined> {
  if (opts.file !== undefined) return fileProblem(opts.file, opts.maxAgeMs, opts.now ?? Date.now);
  try {
    const res = await fetch(opts.url, { signal: AbortSignal.timeout(3_000) });
    if (res.ok) return undefined;
    const body = (await res.json().catch(() => ({}))) as { checks?: Record<string, boolean> };
    return `${opts.url} answered ${res.status}${failing(body.checks)}.`;
  } catch {
    return `${opts.url} did not answer: the web server is not running there.`;
  }
}

async function fileProblem(file: string, maxAgeMs: number, now: () => number): Promise<string | undefined> {
  let text: string;
  let writtenAt: number;
  try {
    [text, writtenAt] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mtimeMs)]);
  } catch {
    return `No health file at ${file}: the process is not running, or was not started with --health-file ${file}.`;
  }
  const age = now() - writtenAt;
  if (age > maxAgeMs) {
    return `The health file ${file} was last written more than ${Math.round(maxAgeMs / 1000)} s ago: the process is stuck.`;
  }
  let state: { status?: unknown; checks?: Record<string, boolean> };
  try {
    state = JSON.parse(text) as typeof state;
  } catch {
    return `The health file ${file} is not one Switchboard wrote.`;
  }
  return state.status === 'ready' ? undefined : `Not ready${failing(state.checks)}.`;
}

function failing(checks: Record<string, boolean> | undefined): string {
  const down = Object.entries(checks ?? {}).flatMap(([name, ok]) => (ok ? [] : [name]));
  return down.length === 0 ? '' : `: failing ${down.join(', ')}`;
}
