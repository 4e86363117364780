// A first run without surprises: every command's --help, one-sentence argument errors, GET /, the
// sandbox's check-config, a duplicate key among other problems, an unknown template variable, the health probe.
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botYaml, configVariables, testConfigYaml, writeConfigFile } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { ensureBuilt, runCli } from '../../support/processes.js';

const COMMANDS = ['start', 'serve', 'worker', 'check-config', 'chat', 'health', 'help'];

describe('switchboard --help', () => {
  beforeAll(() => ensureBuilt());

  it.each(COMMANDS)('"%s --help" prints its usage and options on stdout and exits 0', async (command) => {
    for (const flag of ['--help', '-h']) {
      const ran = await runCli([command, flag]);
      expect(ran.code).toBe(0);
      expect(ran.stderr).toBe('');
      const lines = ran.stdout.split('\n');
      expect(lines[0]).toMatch(new RegExp(`^Usage: switchboard ${command} `));
      expect(ran.stdout).toContain('\nOptions:\n');
      expect(ran.stdout).toContain('  -h, --help            print this help\n');
    }
  });

  it('names the options of each command', async () => {
    expect((await runCli(['start', '--help'])).stdout).toContain(
      'Usage: switchboard start [--sandbox] [--health-file PATH]\n',
    );
    expect((await runCli(['check-config', '--help'])).stdout).toContain(
      '  --strict              exit 1 on warnings too\n',
    );
    expect((await runCli(['chat', '--help'])).stdout).toContain(
      'Usage: switchboard chat --bot ID --channel sms|whatsapp|voice --from +E164 [--url URL] [--to +E164]\n',
    );
  });

  it('"switchboard --help" and "switchboard help" list every command and exit 0; no command at all exits 2', async () => {
    for (const args of [['--help'], ['help']]) {
      const ran = await runCli(args);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toMatch(/^Usage: switchboard <command> \[options\]\n\nCommands:\n/);
      for (const command of COMMANDS) expect(ran.stdout).toContain(`\n  ${command} `);
    }
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toMatch(/^Usage: switchboard <command> \[options\]\n/);
  });

  it('"help worker" prints the same as "worker --help"', async () => {
    expect((await runCli(['help', 'worker'])).stdout).toBe((await runCli(['worker', '--help'])).stdout);
  });
});

describe('argument errors', () => {
  beforeAll(() => ensureBuilt());

  it.each(['start', 'serve', 'worker', 'check-config', 'chat', 'health'])(
    '"%s --bogus" says which option is unknown and where the usage is, in one line, exit 2',
    async (command) => {
      const ran = await runCli([command, '--bogus']);
      expect(ran.code).toBe(2);
      expect(ran.stdout).toBe('');
      expect(ran.stderr).toBe(
        `Unknown option --bogus for "switchboard ${command}"; run "switchboard ${command} --help" for its options.\n`,
      );
    },
  );

  it('an unknown command suggests the nearest one, exit 2', async () => {
    const ran = await runCli(['wroker']);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toBe(
      'Unknown command "wroker" (did you mean "worker"?); run "switchboard --help" for the commands.\n',
    );
  });

  it('an option without its value, and an argument a command does not take, are one sentence each', async () => {
    const missing = await runCli(['health', '--file']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'Option --file of "switchboard health" needs a value or takes none; run "switchboard health --help" for its options.\n',
    );
    const extra = await runCli(['worker', 'now']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toBe(
      'Unexpected argument "now" for "switchboard worker"; run "switchboard worker --help" for its options.\n',
    );
  });
});

describe('check-config', () => {
  const removals: (() => Promise<void>)[] = [];
  beforeAll(() => ensureBuilt());
  afterAll(async () => {
    for (const remove of removals) await remove();
  });

  it('--sandbox checks the demo configuration with the variables the sandbox supplies', async () => {
    const without = await runCli(['check-config', 'config/examples/demo-bank.yaml']);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('environment variable DEMO_BANK_PORT is not set.');
    const ran = await runCli(['check-config', '--sandbox', 'config/examples/demo-bank.yaml']);
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toBe('config/examples/demo-bank.yaml: OK (1 bot: demo-bank)\n');
    expect(ran.code).toBe(0);
  });

  it('a duplicate key names the key and both lines, and the other problems are still reported', async () => {
    const yaml = testConfigYaml({
      bots: botYaml(
        'hello',
        `    flows:
      main:
        - say: "Hello."
      main:
        - say: "Again."
        - goto: elsewhere`,
      ),
    });
    const file = await writeConfigFile(yaml);
    removals.push(file.remove);
    const ran = await runCli(['check-config', file.path], configVariables());
    expect(ran.code).toBe(1);
    const lines = yaml.split('\n');
    const first = lines.indexOf('      main:') + 1;
    const second = lines.indexOf('      main:', first) + 1;
    expect(ran.stderr).toBe(
      `${file.path}:${second}: bots.hello.flows.main: the key "main" is written twice in the same mapping (first at line ${first}). Hint: keep one of them: YAML allows each key once per mapping.\n` +
        `${file.path}:${second + 2}: bots.hello.flows.main[1].goto: flow "elsewhere" does not exist. Hint: Flows: main.\n` +
        '2 problems found.\n',
    );
  });

  it('an unknown template variable is a warning with a did-you-mean: exit 0, or 1 with --strict', async () => {
    const yaml = testConfigYaml({
      bots: botYaml(
        'hello',
        `    flows:
      main:
        - ask: { prompt: "How many?", save: count }
        - say: "You said {{cuont}}, {{ user.name }} on {{channel}}."
        - end: "Bye {{count}}."`,
      ),
    });
    const file = await writeConfigFile(yaml);
    removals.push(file.remove);
    const line = yaml.split('\n').findIndex((l) => l.includes('{{cuont}}')) + 1;
    const warning =
      `${file.path}:${line}: bots.hello.flows.main[1].say: warning: {{cuont}} is not a variable this bot sets, so it renders empty. ` +
      'Hint: did you mean "count"? Variables: input, authtoken, user, channel, from, bot, auth_id, auth_code, count.\n1 warning.\n';
    const ran = await runCli(['check-config', file.path], configVariables());
    expect(ran.stderr).toBe(warning);
    expect(ran.stdout).toBe(`${file.path}: OK (1 bot: hello)\n`);
    expect(ran.code).toBe(0);
    const strict = await runCli(['check-config', '--strict', file.path], configVariables());
    expect(strict.stderr).toBe(warning);
    expect(strict.stdout).toBe('');
    expect(strict.code).toBe(1);
  });
});

describe('GET /', () => {
  let sandbox: Harness;
  let production: Harness;
  beforeAll(async () => {
    [sandbox, production] = await Promise.all([
      startHarness({ sandbox: true, gateway: { web: true, workers: false }, label: 'home-sandbox' }),
      startHarness({ gateway: { web: true, workers: false }, label: 'home-production' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([sandbox?.close(), production?.close()]);
  });

  it('redirects to the simulator in the sandbox', async () => {
    const res = await fetch(`${sandbox.main!.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/simulator');
  });

  it('answers one plain line in production', async () => {
    const res = await fetch(`${production.main!.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('Switchboard gateway. Operator API at /v1, health at /readyz.\n');
  });
});

describe('switchboard health', () => {
  let dir: string;
  beforeAll(async () => {
    ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'switchboard-health-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('passes on a fresh ready file, and says why otherwise, exit 1', async () => {
    const file = join(dir, 'worker.health');
    const missing = await runCli(['health', '--file', file]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `No health file at ${file}: the process is not running, or was not started with --health-file ${file}.\n`,
    );

    await writeFile(file, '{"status":"ready","checks":{"redis":true,"workers":true}}\n');
    const ok = await runCli(['health', '--file', file]);
    expect(ok).toEqual({ code: 0, stdout: '', stderr: '' });

    await writeFile(file, '{"status":"not ready","checks":{"redis":false,"workers":true}}\n');
    const down = await runCli(['health', '--file', file]);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe('Not ready: failing redis.\n');

    await writeFile(file, '{"status":"ready","checks":{"redis":true,"workers":true}}\n');
    const minutesAgo = new Date(Date.now() - 10 * 60_000);
    await utimes(file, minutesAgo, minutesAgo);
    const stale = await runCli(['health', '--file', file]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toBe(
      `The health file ${file} was last written more than 30 s ago: the process is stuck.\n`,
    );
    expect((await runCli(['health', '--file', file, '--max-age', '3600'])).code).toBe(0);
  });
});
