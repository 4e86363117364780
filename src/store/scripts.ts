// Installs Lua scripts as commands on a Redis connection: the one mechanism every store uses.
import type { Redis } from 'ioredis';

export interface Script {
  /** How many of the command's arguments are keys (all sharing one hash tag, for Redis Cluster). */
  keys: number;
  lua: string;
}

/**
 * Defines each script as a command named after its key, once per connection (stores sharing a
 * connection install theirs side by side; ioredis runs them by SHA, loading them on first use).
 * `T` is the connection's type with the commands' signatures.
 */
export function installScripts<T extends Redis>(redis: Redis, scripts: Record<string, Script>): T {
  const commands = redis as unknown as Record<string, unknown>;
  for (const [name, script] of Object.entries(scripts)) {
    if (typeof commands[name] !== 'function')
      redis.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua });
  }
  return redis as T;
}
