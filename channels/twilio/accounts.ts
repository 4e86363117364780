// Twilio accounts from the configuration: which token signs an account's webhooks, which account drives a bot.
import type { BotConfig, Config } from '../../src/config/index.js';
import type { Directory } from '../../src/config/directory.js';

export interface TwilioAccount {
  accountSid: string;
  authToken: string;
  /** A Twilio-compatible REST API to use instead of api.twilio.com (another provider, a test double). */
  apiBaseUrl?: string;
}

/** The accounts of a configuration by AccountSid, built once per configuration (a reload makes a new one). */
const byConfig = new WeakMap<Config, Map<string, TwilioAccount>>();

export function accounts(config: Config): Map<string, TwilioAccount> {
  let map = byConfig.get(config);
  if (map) return map;
  map = new Map();
  for (const account of [config.twilio, ...Object.values(config.workspaces).map((w) => w.twilio)]) {
    if (account) {
      map.set(account.accountSid, {
        accountSid: account.accountSid,
        authToken: account.authToken,
        ...(account.apiBaseUrl ? { apiBaseUrl: account.apiBaseUrl } : {}),
      });
    }
  }
  byConfig.set(config, map);
  return map;
}

/** The account configured for a bot: its workspace's own, else the top-level one. */
export function accountOf(config: Config, bot: BotConfig) {
  return config.workspaces[bot.workspace]?.twilio ?? config.twilio;
}

/** The auth token that signs webhooks for an account (sandbox mode: one token for all). */
export function authToken(directory: Directory, accountSid: string): string | undefined {
  if (directory.sandbox) return directory.sandbox.authToken;
  return accounts(directory.config).get(accountSid)?.authToken;
}

/**
 * Whether a webhook signed for `accountSid` may drive a bot: only its own account's may, so one workspace's
 * token cannot speak for another workspace's numbers. Sandbox mode has one token and no accounts.
 */
export function drives(directory: Directory, accountSid: string, bot: BotConfig): boolean {
  return directory.sandbox !== undefined || accountOf(directory.config, bot)?.accountSid === accountSid;
}
