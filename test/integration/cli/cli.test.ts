// The `switchboard` command as an operator meets it: check-config's verdicts, clear start-up errors, SIGTERM.
import { connect, createServer, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  botYaml,
  configVariables,
  dataKey,
  NUMBERS,
  testConfigYaml,
  writeConfigFile,
} from '../../support/config.js';
import { ensureBuilt, runCli, spawnSwitchboard } from '../../support/processes.js';
import { randomPrefix } from '../../support/harness.js';
import { freePort, startRedisServer } from '../../../src/main/local-redis.js';

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

  it('refuses an operator API key shorter than 32 characters, without printing it', async () => {
    const file = await writeConfigFile(testConfigYaml({ bots: GOOD_BOT }));
    files.push(file);
    const ran = await runCli(['check-config', file.path], { ...configVariables(), TEST_API_KEY: 'letmein' });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe(
      `${file.path}:8: workspaces.test.apiKeys[0]: an operator API key needs at least 32 characters, this one has 7. Hint: make one with "openssl rand -hex 32".\n1 problem found.\n`,
    );
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

/** Whether a TCP connection to address:port is accepted. */
function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Addresses of this machine a server bound to 127.0.0.1 does not answer on (127.0.0.2 is loopback too). */
function otherLocalAddresses(): string[] {
  const external = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && !i.internal && i.family === 'IPv4')
    .map((i) => i!.address);
  return ['127.0.0.2', ...external];
}

/** `npm start`'s command (`start --sandbox`) with the test Redis and a port of its own, plus `env`. */
function startSandbox(env: Record<string, string> = {}) {
  return spawnSwitchboard(
    'start',
    { REDIS_URL: process.env.REDIS_URL!, SWITCHBOARD_KEY_PREFIX: randomPrefix('cli'), PORT: '0', ...env },
    'sandbox',
    ['--sandbox'],
  );
}

describe('switchboard start', () => {
  beforeAll(() => ensureBuilt());

  it('npm start (the sandbox) listens on 127.0.0.1 only, and its banner says so', async () => {
    const sandbox = await startSandbox();
    try {
      const started = sandbox.logs.find('switchboard started')[0]!;
      expect(started).toMatchObject({ mode: 'sandbox', host: '127.0.0.1' });
      const port = started.port as number;
      expect(await accepts('127.0.0.1', port)).toBe(true);
      for (const address of otherLocalAddresses())
        expect([address, await accepts(address, port)]).toEqual([address, false]);
      const banner = await sandbox.logs.waitFor((l) => l.message.includes('Listening on'), 'the banner');
      expect(banner.message.trim()).toBe(
        'Listening on 127.0.0.1 only (set SWITCHBOARD_HOST=0.0.0.0 to reach it from other machines).',
      );
      const lines = sandbox.logs.lines.map((l) => l.message.trim());
      expect(lines).toContain(`Switchboard sandbox is running at http://127.0.0.1:${port}`);
      // The banner follows the loaded configuration: its bot, its numbers, and how to reach it.
      expect(lines).toContain(
        'Bots:       demo-bank (sms +15005550006; whatsapp +14155238886; voice +15005550006)',
      );
      expect(lines).toContain(
        `Chat:       node dist/src/main/cli.js chat --bot demo-bank --channel whatsapp --from +15551230000 --url http://127.0.0.1:${port}`,
      );
      expect(lines).toContain(
        `Operator:   http://127.0.0.1:${port}/v1 with the header "Authorization: Bearer demo-api-key-for-the-local-sandbox-only" (docs/operator-api.md)`,
      );
      // The demo's sign-in by link, at the demo provider on a loopback port of its own, and its accounts.
      expect(lines.filter((l) => /^(Sign in|Accounts):/.test(l))).toEqual([
        expect.stringMatching(
          /^Sign in: {4}pick "Sign in by link" in the chat: "Sign in with Demo Bank" at the bank's page \(http:\/\/127\.0\.0\.1:\d+\)$/,
        ),
        'Accounts:   alice / wonderland, bob / builder (or pick "Your balance" to type them in the chat); on a call, member 1001, PIN 4321 (alice); member 1002, PIN 8765 (bob)',
      ]);
    } finally {
      await sandbox.stop();
    }
  });

  it('the sandbox with another configuration: the banner names its bots, and the demo bank is not started', async () => {
    const file = await writeConfigFile(testConfigYaml({ bots: GOOD_BOT }));
    const sandbox = await startSandbox({ ...configVariables(), SWITCHBOARD_CONFIG: file.path });
    try {
      const port = sandbox.logs.find('switchboard started')[0]!.port as number;
      await sandbox.logs.waitFor((l) => l.message.includes('Listening on'), 'the banner');
      const lines = sandbox.logs.lines.map((l) => l.message.trim());
      expect(lines).toContain(
        `Bots:       hello (sms ${NUMBERS.sms}; whatsapp ${NUMBERS.whatsapp}; voice ${NUMBERS.voice})`,
      );
      expect(lines).toContain(
        `Chat:       node dist/src/main/cli.js chat --bot hello --channel whatsapp --from +15551230000 --url http://127.0.0.1:${port}`,
      );
      // No demo: no demo sign-in or accounts, and nothing of the demo bank in the log.
      expect(lines.filter((l) => /^(Sign in|Accounts):/.test(l))).toEqual([]);
      expect(lines.some((l) => /demo bank/i.test(l))).toBe(false);
    } finally {
      await sandbox.stop();
      await file.remove();
    }
  });

  it('the sandbox listens where SWITCHBOARD_HOST says', async () => {
    const sandbox = await startSandbox({ SWITCHBOARD_HOST: '0.0.0.0' });
    try {
      const started = sandbox.logs.find('switchboard started')[0]!;
      expect(started).toMatchObject({ mode: 'sandbox', host: '0.0.0.0' });
      expect(await accepts('127.0.0.2', started.port as number)).toBe(true);
      const banner = await sandbox.logs.waitFor((l) => l.message.includes('Listening on'), 'the banner');
      expect(banner.message.trim()).toBe(
        "Listening on 0.0.0.0: the sandbox's simulator, outbox and demo API key are reachable from the network.",
      );
    } finally {
      await sandbox.stop();
    }
  });

  it('in production, listens on every interface unless told otherwise', async () => {
    const yaml = testConfigYaml({ bots: GOOD_BOT, twilioApiUrl: 'http://127.0.0.1:1' });
    const file = await writeConfigFile(yaml.replace('  host: 127.0.0.1\n', ''));
    try {
      const gateway = await spawnSwitchboard('start', {
        ...configVariables(),
        REDIS_URL: process.env.REDIS_URL!,
        SWITCHBOARD_CONFIG: file.path,
        SWITCHBOARD_KEY_PREFIX: randomPrefix('cli'),
        SWITCHBOARD_DATA_KEY: dataKey(),
        PORT: '0',
      });
      try {
        const started = gateway.logs.find('switchboard started')[0]!;
        expect(started).toMatchObject({ mode: 'production', host: '0.0.0.0' });
        expect(await accepts('127.0.0.2', started.port as number)).toBe(true);
      } finally {
        await gateway.stop();
      }
    } finally {
      await file.remove();
    }
  });

  it.each([
    ['', 'hunter2-redis-password'],
    [' (an @ in it: a URL parser reads the credentials up to the last @)', 'hunter2@redis-password'],
  ])(
    'in production, exits 1 when no Redis answers, naming the URL without its password%s and starting none',
    async (_, password) => {
      const file = await writeConfigFile(
        testConfigYaml({ bots: GOOD_BOT, twilioApiUrl: 'http://127.0.0.1:1' }),
      );
      try {
        const port = await freePort();
        const ran = await runCli(['start'], {
          ...configVariables(),
          REDIS_URL: `redis://switchboard:${password}@127.0.0.1:${port}/3`,
          SWITCHBOARD_CONFIG: file.path,
          SWITCHBOARD_KEY_PREFIX: randomPrefix('cli'),
          SWITCHBOARD_DATA_KEY: dataKey(),
          PORT: '0',
        });
        expect(ran.code).toBe(1);
        expect(ran.stdout).toBe('');
        expect(ran.stderr).toBe(
          `No Redis answers at redis://***@127.0.0.1:${port}/3 (REDIS_URL), and outside sandbox mode Switchboard does not start one of its own: start your Redis or set REDIS_URL to it.\n`,
        );
        expect(ran.stdout + ran.stderr).not.toContain('hunter2');
        expect(ran.stdout + ran.stderr).not.toContain('redis-password');
      } finally {
        await file.remove();
      }
    },
  );

  it('in production, says that Redis refused the password, without printing it', async () => {
    const redis = await startRedisServer(undefined, ['--requirepass', 'the-right-password']);
    const file = await writeConfigFile(
      testConfigYaml({ bots: GOOD_BOT, twilioApiUrl: 'http://127.0.0.1:1' }),
    );
    try {
      const ran = await runCli(['start'], {
        ...configVariables(),
        REDIS_URL: redis.url.replace('redis://', 'redis://:hunter2-redis-password@'),
        SWITCHBOARD_CONFIG: file.path,
        SWITCHBOARD_KEY_PREFIX: randomPrefix('cli'),
        SWITCHBOARD_DATA_KEY: dataKey(),
        PORT: '0',
      });
      expect(ran.code).toBe(1);
      expect(ran.stderr).toBe(
        `The Redis at ${redis.url.replace('redis://', 'redis://***@')} (REDIS_URL) refused the user or password: put the ones it expects in REDIS_URL.\n`,
      );
      expect(ran.stdout + ran.stderr).not.toContain('hunter2');
    } finally {
      await redis.stop();
      await file.remove();
    }
  });

  it('never prints the credentials of a URL, even in an environment error', async () => {
    const ran = await runCli(['start'], {
      REDIS_URL: 'http://admin:hunter2-redis-password@redis.internal:6379',
    });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe(
      'Invalid environment:\n  REDIS_URL: must start with redis:// or rediss:// (got "http://***@redis.internal:6379")\n',
    );
  });
});
