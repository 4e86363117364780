// Outside sandbox mode a missing or malformed SWITCHBOARD_DATA_KEY stops start-up with a clear message.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botYaml, configVariables, testConfigYaml, writeConfigFile } from '../../support/config.js';
import { CLI, ensureBuilt, REPO_ROOT } from '../../support/processes.js';

const MISSING =
  'SWITCHBOARD_DATA_KEY is not set. Outside sandbox mode Switchboard encrypts tokens and message text at rest ' +
  'and will not start without a key. Make one with: openssl rand -base64 32\n';

let config: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  // Twilio credentials, so production mode; the API URL is never called.
  config = await writeConfigFile(
    testConfigYaml({
      bots: botYaml('hello', '    flows:\n      main:\n        - end: "Hello."'),
      twilioApiUrl: 'http://127.0.0.1:9',
    }),
  );
});

afterAll(async () => {
  await config?.remove();
});

function serve(extra: Record<string, string>) {
  ensureBuilt();
  return spawnSync(process.execPath, [CLI, 'serve'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...configVariables(),
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      SWITCHBOARD_CONFIG: config.path,
      PORT: '0',
      ...extra,
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

// The first CLI run may build a stale dist/ (npm test builds before vitest; a bare vitest run may not).
describe('start-up without a data key', { timeout: 120_000 }, () => {
  it('serve with Twilio credentials and no SWITCHBOARD_DATA_KEY exits 1 with the message', () => {
    const result = serve({});
    expect(result.stderr).toBe(MISSING);
    expect(result.status).toBe(1);
    expect(result.stdout).not.toContain('switchboard started');
  });

  it('SWITCHBOARD_MODE=production without Twilio credentials in the file is refused too', () => {
    const result = serve({ SWITCHBOARD_MODE: 'production' });
    expect(result.stderr).toBe(MISSING);
    expect(result.status).toBe(1);
  });

  it('a key that is not 32 bytes of base64 is refused with how to make one', () => {
    const result = serve({ SWITCHBOARD_DATA_KEY: Buffer.alloc(16).toString('base64') });
    expect(result.stderr).toBe(
      'SWITCHBOARD_DATA_KEY must be 32 bytes, base64-encoded (got 16 bytes). Make one with: openssl rand -base64 32\n',
    );
    expect(result.status).toBe(1);
  });
});
