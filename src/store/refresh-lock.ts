// The lock one worker holds while it refreshes a user's token of a component: the others wait for its result.
import { randomBytes } from 'node:crypto';
import type { Connection } from './connections.js';
import type { IdentityKeys, UserScope } from './identity-keys.js';
import { Script } from './scripts.js';

/** Delete the lock only when this holder still has it (an expired lease may be someone else's now). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const release = new Script<[lock: string, holder: string], number>(1, RELEASE);

/** A lock taken: `release` gives it back (only if this holder still has it). */
export interface HeldLock {
  release(): Promise<void>;
}

/**
 * One lock per (user scope, component) across every worker, by SET NX PX with a random holder id.
 * Implemented by `RedisRefreshLock`.
 */
export interface RefreshLock {
  /** Takes the lock for `leaseMs`, or says someone else holds it (undefined). */
  acquire(scope: UserScope, component: string, leaseMs: number): Promise<HeldLock | undefined>;
  /** Whether someone holds the lock now. */
  held(scope: UserScope, component: string): Promise<boolean>;
}

export class RedisRefreshLock implements RefreshLock {
  constructor(
    private readonly redis: Connection,
    private readonly keys: IdentityKeys,
  ) {}

  async acquire(scope: UserScope, component: string, leaseMs: number): Promise<HeldLock | undefined> {
    const key = this.keys.refreshLock(scope, component);
    const holder = randomBytes(16).toString('hex');
    const taken = await this.redis.set(key, holder, 'PX', Math.max(1, Math.ceil(leaseMs)), 'NX');
    if (taken !== 'OK') return undefined;
    return {
      release: async () => {
        await release.run(this.redis, key, holder);
      },
    };
  }

  async held(scope: UserScope, component: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.refreshLock(scope, component))) === 1;
  }
}
