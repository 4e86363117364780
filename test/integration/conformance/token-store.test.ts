// The TokenStore suite for every token store: the Redis one (sealed at rest) on a real Redis. The unit
// tests have no token store fake of their own (their dialog fake keeps tokens behind the dialog ports,
// whose suite covers it).
import { afterAll, beforeAll } from 'vitest';
import { tokenStoreConformance } from '../../support/conformance/token-store.js';
import { identityWorld, type IdentityWorld } from '../identity/setup.js';

let world: IdentityWorld;

beforeAll(async () => {
  world = await identityWorld({ useClock: true });
});
afterAll(async () => {
  await world.close();
});

tokenStoreConformance('RedisTokenStore', async () => ({
  store: world.tokens,
  now: () => world.clock.now,
  advance: (ms) => void (world.clock.now += ms),
}));
