// Vitest global setup: make sure a real Redis answers for the integration tests.
// Uses REDIS_URL when it answers; otherwise starts a private redis-server on a free loopback port.
import { ensureRedis } from '../../src/main/local-redis.js';

export default async function setup(): Promise<() => Promise<void>> {
  const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  process.env.REDIS_URL = redis.url;
  return async () => {
    await redis.stop();
  };
}
