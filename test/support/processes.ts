// Runs `switchboard` commands (worker, serve) as child processes from dist/, with their logs collected.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogCollector } from './logs.js';

/** The repository: found upwards from here, so this module works from test/ and from dist/test/ alike. */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const CLI = join(REPO_ROOT, 'dist/src/main/cli.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

let built = false;

/**
 * Child processes run the compiled CLI. `npm test` builds first; a bare `vitest run` after editing
 * src/ would otherwise test yesterday's code, so a stale dist/ is rebuilt once (one build at a time
 * across vitest's forks, by a lock directory).
 */
export function ensureBuilt(): void {
  if (built) return;
  const stale = () =>
    !existsSync(CLI) ||
    statSync(CLI).mtimeMs <
      Math.max(newestSource(join(REPO_ROOT, 'src')), newestSource(join(REPO_ROOT, 'channels')));
  if (stale()) {
    const lock = join(tmpdir(), `switchboard-build-${Buffer.from(REPO_ROOT).toString('hex').slice(-24)}`);
    let owner = false;
    try {
      mkdirSync(lock);
      owner = true;
    } catch {
      // another fork is building: wait for it below
    }
    if (owner) {
      try {
        const result = spawnSync(
          process.execPath,
          [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
          {
            cwd: REPO_ROOT,
            encoding: 'utf8',
          },
        );
        if (!existsSync(CLI)) throw new Error(`build failed, no ${CLI}:\n${result.stdout}${result.stderr}`);
      } finally {
        rmdirSync(lock);
      }
    } else {
      const deadline = Date.now() + 120_000;
      while (existsSync(lock) && Date.now() < deadline) spawnSync('sleep', ['0.2']);
    }
  }
  built = true;
}

export interface SwitchboardProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Its stdout (JSON log lines) and stderr. */
  readonly logs: LogCollector;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Sends a signal and waits for the process to end. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  alive(): boolean;
}

/**
 * Starts `node dist/src/main/cli.js <command> [args]` with exactly the given environment (plus PATH; LOG_LEVEL
 * at least info) and waits until it logs "switchboard started".
 */
export async function spawnSwitchboard(
  command: 'worker' | 'serve' | 'start',
  env: Record<string, string>,
  name: string = command,
  args: string[] = [],
  nodeArgs: string[] = [],
): Promise<SwitchboardProcess> {
  ensureBuilt();
  // Readiness is read from the "switchboard started" line, which is logged at info.
  const level = ['error', 'warn'].includes(env.LOG_LEVEL ?? '') ? 'info' : (env.LOG_LEVEL ?? 'info');
  const child = spawn(process.execPath, [...nodeArgs, CLI, command, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: level },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = new LogCollector(name);
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => logs.write(chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => logs.write(chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const proc: SwitchboardProcess = {
    name,
    child,
    pid: child.pid!,
    logs,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop(signal = 'SIGTERM') {
      if (proc.alive()) child.kill(signal);
      return exited;
    },
  };
  const started = logs.waitForMessage('switchboard started', () => true, 20_000);
  started.catch(() => undefined); // when the process exits first, the race below reports it
  let outcome: Awaited<typeof started> | { exitedWith: number | string };
  try {
    outcome = await Promise.race([started, exited.then((code) => ({ exitedWith: code }))]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if ('exitedWith' in outcome) {
    throw new Error(
      `${name} exited with ${String(outcome.exitedWith)} before starting:\n` +
        logs.lines.map((l) => JSON.stringify(l)).join('\n'),
    );
  }
  return proc;
}

/** How a CLI run ended: its exit code and everything it printed. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end; one still running after 20 s (a command that should have exited) is stopped. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stuck = setTimeout(() => child.kill('SIGTERM'), 20_000);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (code) => {
      clearTimeout(stuck);
      resolve({ code, stdout, stderr });
    });
  });
}
