// The environment a benchmark starts Switchboard with: production mode, its own Redis, info logs.
import { configVariables, dataKey } from '../test/support/config.js';

export function benchSwitchboardEnv(
  redisUrl: string,
  configPath: string,
  port: number,
): Record<string, string> {
  return {
    ...configVariables(),
    REDIS_URL: redisUrl,
    SWITCHBOARD_CONFIG: configPath,
    SWITCHBOARD_KEY_PREFIX: 'bench',
    SWITCHBOARD_DATA_KEY: dataKey(),
    SWITCHBOARD_MODE: 'production',
    SWITCHBOARD_REDIS_SERVER: 'false',
    LOG_LEVEL: 'info',
    PORT: String(port),
  };
}
