// The `switchboard` command as an operator meets it: check-config's verdicts, clear start-up errors, SIGTERM.
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botYaml, configVariables, dataKey, testConfigYaml, writeConfigFile } from '../../support/config.js';
import { CLI, ensureBuilt, REPO_ROOT, spawnSwitchboard } from '../../support/processes.js';
import { randomPrefix } from '../../support/harness.js';
import { startRedisServer } from '../../../src/runtime/local-redis.js';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const GOOD_BOT = botYaml(
  'hello',
  `    flows:
      main:
        - say: "Hello."
        - ask: { prompt: "Your name?", save: name }
        - end: "Bye {{name}}."`,
);

describe('switchboard check-config', () => {
  const files: { remove: () => Promise<void> }[] = [];
  beforeAll(() => ensureBuilt());
  afterAll(async () => {
    for (const f of files) await f.remove();
  });

  it('says OK and names the bots of a valid configuration, with exit code 0', async () => {
    const file = await writeConfigFile(testConfigYaml({ bots: GOOD_BOT }));
    files.push(file);
    const ran = await runCli(['check-config', file.path], configVariables());
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe(`${file.path}: OK (1 bot: hello)\n`);
  });

  it('prints every problem with file and line, and exits 1', async () => {
    const broken = testConfigYaml({
      bots: botYaml(
        'hello',
        `    flows:
      main:
        - say: "Hello."
        - goto: elsewhere
        - ask: { prompt: "Your name?", save: name, pattern: "([" }`,
      ),
    });
    const file = await writeConfigFile(broken);
    files.push(file);
    const ran = await runCli(['check-config', file.path], configVariables());
    expect(ran.code).toBe(1);
    const lines = ran.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      new RegExp(
        `^${file.path}:19: bots\\.hello\\.flows\\.main\\[1\\]\\.goto: flow "elsewhere" does not exist`,
      ),
    );
    expect(lines[1]).toMatch(
      new RegExp(`^${file.path}:20: bots\\.hello\\.flows\\.main\\[2\\]\\.ask\\.pattern: `),
    );
    expect(lines[2]).toBe('2 problems found.');
  });

  it('names a missing environment variable instead of starting', async () => {
    const file = await writeConfigFile(testConfigYaml({ bots: GOOD_BOT }));
    files.push(file);
    const vars = configVariables();
    delete (vars as Record<string, string | undefined>).TEST_API_KEY;
    const ran = await runCli(['check-config', file.path], vars);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('TEST_API_KEY');
  });
});

describe('switchboard serve and worker', () => {
  beforeAll(() => ensureBuilt());

  it('explains a missing configuration file without a stack trace', async () => {
    const ran = await runCli(['serve'], { SWITCHBOARD_CONFIG: '/nonexistent/switchboard.yaml' });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe(
      'No configuration at /nonexistent/switchboard.yaml. Set SWITCHBOARD_CONFIG to your YAML file or directory, or run "npm start" for the sandbox demo.\n',
    );
  });

  it('explains an invalid environment variable', async () => {
    const ran = await runCli(['worker'], { SWITCHBOARD_CONCURRENCY: 'lots' });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe(
      'Invalid environment:\n  SWITCHBOARD_CONCURRENCY: must be a whole number (got "lots")\n',
    );
  });

  it('stops a worker on SIGTERM with exit code 0 after logging that it finishes turns in flight', async () => {
    const file = await writeConfigFile(testConfigYaml({ bots: GOOD_BOT }));
    try {
      const worker = await spawnSwitchboard('worker', {
        ...configVariables(),
        REDIS_URL: process.env.REDIS_URL!,
        SWITCHBOARD_CONFIG: file.path,
        SWITCHBOARD_KEY_PREFIX: randomPrefix('cli'),
        SWITCHBOARD_DATA_KEY: dataKey(),
        SWITCHBOARD_MODE: 'production',
      });
      expect(await worker.stop('SIGTERM')).toBe(0);
      expect(worker.logs.lines.map((l) => l.message)).toEqual(
        expect.arrayContaining(['stopping: finishing turns in flight', 'switchboard stopped']),
      );
    } finally {
      await file.remove();
    }
  });

  it('exits within SWITCHBOARD_SHUTDOWN_MS when stopping cannot finish (Redis gone), saying so', async () => {
    const redis = await startRedisServer();
    const file = await writeConfigFile(testConfigYaml({ bots: GOOD_BOT }));
    try {
      const worker = await spawnSwitchboard('worker', {
        ...configVariables(),
        REDIS_URL: redis.url,
        SWITCHBOARD_CONFIG: file.path,
        SWITCHBOARD_KEY_PREFIX: randomPrefix('cli'),
        SWITCHBOARD_DATA_KEY: dataKey(),
        SWITCHBOARD_MODE: 'production',
        SWITCHBOARD_SHUTDOWN_MS: '1500',
      });
      await redis.stop();
      await worker.logs.waitForMessage('Redis connection error', () => true, 10_000);
      expect(await worker.stop('SIGTERM')).toBe(1);
      // It had no turns: the log says what it did wait for, not that turns were left unfinished.
      expect(
        worker.logs.find(
          'stopping took too long; exiting with nothing in flight (Redis or a connection did not close)',
        ),
      ).toMatchObject([{ deadlineMs: 1500, requests: 0, jobs: 0 }]);
    } finally {
      await redis.stop();
      await file.remove();
    }
  });

  it('says plainly that its port is taken, without a stack trace', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const file = await writeConfigFile(testConfigYaml({ bots: GOOD_BOT }));
    try {
      const ran = await runCli(['serve'], {
        ...configVariables(),
        REDIS_URL: process.env.REDIS_URL!,
        SWITCHBOARD_CONFIG: file.path,
        SWITCHBOARD_KEY_PREFIX: randomPrefix('cli'),
        SWITCHBOARD_DATA_KEY: dataKey(),
        SWITCHBOARD_MODE: 'production',
        PORT: String(port),
      });
      expect(ran.code).toBe(1);
      expect(ran.stderr).toBe(
        `Port ${port} on 127.0.0.1 is already in use. Stop the other process, or set PORT.\n`,
      );
    } finally {
      blocker.close();
      await file.remove();
    }
  });
});
