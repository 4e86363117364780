// Auth test helpers: a bank bot over the fake auth service, its gateway, and reads of the token cache in Redis.
import type { Env } from '../../../src/env.js';
import { IdentityKeys, type UserScope } from '../../../src/store/identity-keys.js';
import { createDataCipher } from '../../../src/store/cipher.js';
import type { FakeAccount } from '../../fakes/auth-service.js';
import {
  DialogHarness,
  botOn,
  NUMBERS,
  startDialogHarness,
  type DialogHarnessOptions,
} from '../dialog/helpers.js';

export const TEXT = {
  username: 'What is your username?',
  password: 'What is your password?',
  memberNumber: 'Enter your member number, then press pound.',
  pin: 'Enter your PIN.',
  wrong: "Sorry, those details didn't match. Let's try again.",
  /** Said after `wrong` when one try is left before the identity's lockout. */
  lastTry: '1 attempt left before your account is locked.',
  unavailable: "Sorry, we can't check your details right now. Please try again later.",
  signedOut: 'You are signed out.',
  locked: (minutes: number) =>
    `Too many failed attempts. Please try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
  balance: (amount: string, currency: string) => `Your balance is ${amount} ${currency}.`,
  payment: (amount: string, payee: string) => `Your last payment was ${amount} to ${payee}.`,
} as const;

/** The bank's customers in every auth test; each test logs in with its own username so tests stay apart. */
export function account(username: string, extra: Partial<FakeAccount> = {}): FakeAccount {
  return {
    username,
    password: `pw-${username}`,
    userId: `u-${username}`,
    balance: '1,234.56',
    currency: 'USD',
    lastPayment: { amount: '42.00 USD', payee: 'City Power' },
    ...extra,
  };
}

export interface BankBotOptions {
  id?: string;
  /** The fake auth service's URL (auth endpoints and protected API). */
  bank: string;
  numbers?: Partial<Record<keyof typeof NUMBERS, string>>;
  maxAttempts?: number;
  /** Seconds locked out (also the window in which failures count). */
  lockout?: number;
  /** Seconds the auth call may take. */
  timeout?: number;
  pinDigits?: number;
  replyWaitMs?: number;
  /** Said with the balance, e.g. " (login {{login}})" to show which token the API saw. */
  balanceSuffix?: string;
  /** member-pin's `userNamespace`: false says its member numbers are the bank's user ids. */
  pinUserNamespace?: string | false;
}

/**
 * A bank bot: on SMS and WhatsApp every message asks for the balance (login component, token at
 * access_token, expiry from expires_in) unless it is "payment?"; a call asks for the last payment
 * (verify component, member number then a keypad PIN), with `auth_id` in the request body.
 */
export function bankBot(o: BankBotOptions): string {
  const suffix = o.balanceSuffix ?? '';
  return botOn(
    o.id ?? 'bank',
    `    voice: { replyWaitMs: ${o.replyWaitMs ?? 2500} }
    auth:
      bank-login:
        type: login
        url: ${o.bank}/auth/token
        fields:
          - { name: username, prompt: "${TEXT.username}" }
          - { name: password, prompt: "${TEXT.password}", secret: true }
        token: { path: access_token }
        expiresInPath: expires_in
        ttl: 600
        userIdPath: user.id
        maxAttempts: ${o.maxAttempts ?? 3}
        lockout: ${o.lockout ?? 900}
        timeout: ${o.timeout ?? 5}
      member-pin:
        type: verify
        url: ${o.bank}/auth/verify
        fields:
          - { name: auth_id, prompt: "${TEXT.memberNumber}", keypad: true }
          - { name: auth_code, prompt: "${TEXT.pin}", keypad: true, digits: ${o.pinDigits ?? 4}, secret: true }
        ttl: 600
        timeout: ${o.timeout ?? 5}${o.pinUserNamespace !== undefined ? `\n        userNamespace: ${o.pinUserNamespace}` : ''}
    flows:
      main:
        - switch: { value: "{{channel}}", cases: { voice: payments } }
        - switch: { value: "{{input}}", cases: { "payment?": payments } }
        - goto: balance
      balance:
        - auth: bank-login
        - request:
            method: GET
            url: ${o.bank}/api/balance
            headers: { Authorization: "Bearer {{authtoken}}" }
            auth: bank-login
            save: { balance: "data.balance", currency: "data.currency", login: "data.login" }
        - ask: { prompt: "Your balance is {{balance}} {{currency}}.${suffix}", save: next }
        - switch: { value: "{{next}}", cases: { "payment?": payments } }
        - goto: balance
      payments:
        - auth: member-pin
        - request:
            method: POST
            url: ${o.bank}/api/payments/last
            body: { member: "{{auth_id}}", token: "{{authtoken}}" }
            auth: member-pin
            save: { amount: "amount", payee: "payee" }
        - end: "Your last payment was {{amount}} to {{payee}}."`,
    o.numbers ?? NUMBERS,
  );
}

/** A dialog harness whose workspace may call the fake bank on loopback. */
export function startBankHarness(options: DialogHarnessOptions): Promise<DialogHarness> {
  return startDialogHarness({ allowHosts: ['127.0.0.1'], label: 'auth', ...options });
}

/** Every cached-token key under the test's prefix (`…:u:{scope}:tok:COMPONENT`). */
export async function tokenKeys(h: DialogHarness): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await h.redis.scan(
      cursor,
      'MATCH',
      new IdentityKeys(h.keys).everyCachedToken(),
      'COUNT',
      1000,
    );
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

/** The key of one user's cached token for one component. */
export function tokenKey(h: DialogHarness, scope: UserScope, component: string): string {
  return new IdentityKeys(h.keys).token(scope, component);
}

/**
 * Starts another gateway (web and workers) on the harness's prefix with other data keys, and a harness view
 * of it for chats. `stop` closes that gateway only: the keys stay for the next one.
 */
export async function gatewayWithKeys(
  base: DialogHarness,
  keys: { current: string; old?: string[] },
): Promise<{ h: DialogHarness; stop(): Promise<void> }> {
  const more: Partial<Env> = {
    SWITCHBOARD_DATA_KEY: keys.current,
    SWITCHBOARD_DATA_KEYS: keys.old ? keys.old.join(',') : undefined,
  };
  const running = await base.base.startGateway({ web: true, workers: true }, 'gateway', more);
  const h = new DialogHarness(base.base, running, {
    env: { ...base.env, ...more },
    processEnv: { ...base.processEnv, SWITCHBOARD_DATA_KEY: keys.current },
    keys: running.gateway.keys, // named by the key-naming key in Redis, whatever data key this gateway started with
    cipher: createDataCipher(keys.current, keys.old ?? []),
  });
  return { h, stop: () => h.close() };
}
