// The web connection carries none of BullMQ's scripts: ioredis copies every script defined on a connection
// into each pipeline it builds, one per auto-pipelined batch, so BullMQ's queues of the web side (send kicks,
// operator events) run on a connection of their own. Against a real Redis, through `openStores`.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Directory } from '../../../src/config/directory.js';
import { readEnv } from '../../../src/env.js';
import { createLogger } from '../../../src/log.js';
import { openStores } from '../../../src/main/stores.js';
import { quitWithin } from '../../../src/store/open.js';
import { deletePrefix, randomPrefix } from '../../support/harness.js';
import { redisUrl, testConfig } from '../identity/setup.js';

const prefix = randomPrefix('web-connection');
let admin: Redis;
let stores: Awaited<ReturnType<typeof openStores>>;

beforeAll(async () => {
  admin = new Redis(redisUrl());
  const config = testConfig();
  const directory = new Directory(config, undefined);
  stores = await openStores({
    env: readEnv({ REDIS_URL: redisUrl(), SWITCHBOARD_KEY_PREFIX: prefix }),
    config,
    sandbox: true,
    directory: () => directory,
    logger: createLogger({ level: 'error' }),
    now: Date.now,
  });
  await Promise.all([
    ...stores.web.queues.sends.map((q) => q.waitUntilReady()),
    stores.web.events.queue.waitUntilReady(),
  ]);
});
afterAll(async () => {
  await stores.web.queues.close();
  await stores.web.events.close();
  await Promise.all(stores.connections.map((c) => quitWithin(c, 1000)));
  await deletePrefix(admin, prefix);
  admin.disconnect();
});

describe('the web connection', () => {
  it('has no script defined on it once the queues are ready; BullMQ has its own connection', async () => {
    expect(Object.keys(stores.web.connection.scriptsSet)).toEqual([]);
    const names = await Promise.all(stores.connections.map((c) => c.client('GETNAME')));
    expect(names).toEqual(['switchboard:web', 'switchboard:work', 'switchboard:web:jobs']);
    for (const queue of [...stores.web.queues.sends, stores.web.events.queue]) {
      expect((await queue.getBackend().client).options.connectionName).toBe('switchboard:web:jobs');
    }
  });

  it('still kicks a send job, which the workers find under the send queue', async () => {
    await stores.web.queues.kickSend('conversation-1');
    expect(await stores.work.queues.sends[0]!.getJobCounts('wait')).toEqual({ wait: 1 });
  });
});
