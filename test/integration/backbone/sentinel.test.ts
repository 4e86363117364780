// REDIS_SENTINELS: the gateway finds its Redis through real Sentinels and answers through it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, type RunningRedis } from '../../../src/main/local-redis.js';
import { ECHO_BOT } from '../../support/bots.js';
import { startHarness } from '../../support/harness.js';
import { eventually } from '../../support/wait.js';

let primary: RunningRedis & { port: number };
let sentinel: ChildProcess;
let sentinelPort: number;
let dir: string;

beforeAll(async () => {
  primary = await startRedisServer();
  sentinelPort = await freePort();
  dir = await mkdtemp(join(tmpdir(), 'switchboard-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  await writeFile(
    conf,
    `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor testprimary 127.0.0.1 ${primary.port} 1\n`,
  );
  sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  // The sentinel answers once it has loaded the configuration; nothing announces that but the answer.
  const probe = new Redis({
    port: sentinelPort,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  probe.on('error', () => undefined);
  await eventually(async () => {
    try {
      if (probe.status !== 'ready') await probe.connect();
      const master = (await probe.call('SENTINEL', 'get-master-addr-by-name', 'testprimary')) as
        string[] | null;
      return master && master[1] === String(primary.port) ? true : undefined;
    } catch {
      return undefined;
    }
  }, 'the sentinel knows the primary');
  probe.disconnect();
});

afterAll(async () => {
  sentinel?.kill('SIGTERM');
  await primary?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Redis Sentinel', () => {
  it('connects through the sentinels and answers a message', async () => {
    const h = await startHarness({
      bots: ECHO_BOT,
      label: 'sentinel',
      redisUrl: primary.url,
      env: {
        // A REDIS_URL that leads nowhere: only the sentinels can have found the primary.
        REDIS_URL: 'redis://127.0.0.1:1/0',
        REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
        REDIS_SENTINEL_NAME: 'testprimary',
      },
    });
    try {
      const answer = await h.webhooks.sms('+12025550142', 'ping');
      expect(answer.status).toBe(200);
      const [reply] = await h.twilio.waitForMessages('+12025550142', 1);
      expect(reply!.body).toBe('got ping');
      expect(await h.redis.exists(h.keys.state(h.conversation('echo', 'sms:+12025550142')))).toBe(1);
    } finally {
      await h.close();
    }
  });
});
