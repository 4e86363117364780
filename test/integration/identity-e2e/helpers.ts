// Identity end-to-end helpers: two workspaces in one gateway, a fake bank, event receivers, the operator API over HTTP.
import { jsonRequest, type JsonAnswer } from '../../support/json-api.js';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../../src/config/index.js';
import type { Clock } from '../../../src/core/ports/clock.js';
import { EVENTS_QUEUE } from '../../../src/operator-events/sink.js';
import { Queues } from '../../../src/queue/queues.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import {
  startEventReceiver,
  type FakeEventReceiver,
  type ReceivedDelivery,
} from '../../fakes/event-receiver.js';
import { startFakeProtectedApi, type FakeProtectedApi } from '../../fakes/protected-api.js';
import { NUMBERS } from '../../support/config.js';
import { eventually } from '../../support/wait.js';
import { startDialogHarness, twilioYaml, type DialogHarness } from '../dialog/helpers.js';

export const ACME_KEY = 'acme-e2e-key-0123456789abcdef01234567';
export const GLOBEX_KEY = 'globex-e2e-key-fedcba9876543210fedcba98';
export const ACME_EVENTS_SECRET = 'acme-e2e-events-secret-1';
export const GLOBEX_EVENTS_SECRET = 'globex-e2e-events-secret-2';
/** The password users type: it must never leave in an event, a history, an API answer or a log line. */
export const CANARY = 'Canary-Pw-7f3e91';

/** The acme bot that trusts caller ID on its own voice number. */
export const TRUSTING_VOICE = '+15005550008';
/** The globex bot's SMS number. */
export const GLOBEX_SMS = '+15005550009';

export const MAIN_PROMPT = 'Reply 1 for your balance or 2 to tell us about you.';
export const ASK_USERNAME = 'What is your username?';
export const ASK_PASSWORD = 'What is your password?';
export const BALANCE_TEXT = 'Your balance is 120.50 EUR.';

/** The acme bank bot's body (flows and auth), shared by the bot that trusts caller ID. */
function bankBody(bank: string, voice: string): string {
  return `    voice: ${voice}
    auth:
      bank-login:
        type: login
        url: ${bank}/auth/token
        fields:
          - { name: username, prompt: "${ASK_USERNAME}" }
          - { name: password, prompt: "${ASK_PASSWORD}", secret: true }
        token: { path: access_token }
        expiresInPath: expires_in
        userIdPath: user.id
        maxAttempts: 3
    flows:
      main:
        - ask: { prompt: "${MAIN_PROMPT}", save: choice, keypad: true, digits: 1, pattern: "^[12]$" }
        - switch: { value: "{{choice}}", cases: { "1": balance, "2": about } }
      balance:
        - auth: bank-login
        - request:
            method: GET
            url: ${bank}/api/balance
            headers: { Authorization: "Bearer {{authtoken}}" }
            auth: bank-login
            save: { balance: "data.balance", currency: "data.currency" }
        - say: "Your balance is {{balance}} {{currency}}."
        - goto: main
      about:
        - profile: { name: true, email: true }
        - say: "Thanks, {{name}}."
        - goto: main`;
}

/** The whole configuration: workspaces acme and globex, each with its own key, hosts and event receiver. */
export function e2eConfigYaml(urls: {
  twilio: string;
  bank: string;
  acmeEvents: string;
  globexEvents: string;
}): string {
  return `server:
  publicUrl: \${PUBLIC_URL}
  host: 127.0.0.1
  port: 0
${twilioYaml(urls.twilio)}
workspaces:
  acme:
    apiKeys: ["\${ACME_API_KEY}"]
    allowHosts: ["127.0.0.1"]
    events: { url: "${urls.acmeEvents}", secret: "\${ACME_EVENTS_SECRET}" }
  globex:
    apiKeys: ["\${GLOBEX_API_KEY}"]
    allowHosts: ["127.0.0.1"]
    events: { url: "${urls.globexEvents}", secret: "\${GLOBEX_EVENTS_SECRET}" }
bots:
  bank:
    workspace: acme
    numbers: { sms: ["${NUMBERS.sms}"], whatsapp: ["${NUMBERS.whatsapp}"], voice: ["${NUMBERS.voice}"] }
${bankBody(urls.bank, '{ trustCallerId: false }')}
  bank-trusting:
    workspace: acme
    numbers: { voice: ["${TRUSTING_VOICE}"] }
${bankBody(urls.bank, '{ trustCallerId: true }')}
  globex-desk:
    workspace: globex
    numbers: { sms: ["${GLOBEX_SMS}"] }
    auth:
      globex-login:
        type: login
        url: ${urls.bank}/auth/token
        fields:
          - { name: username, prompt: "Globex username?" }
          - { name: password, prompt: "Globex password?", secret: true }
        token: { path: access_token }
        userIdPath: user.id
    flows:
      main:
        - ask: { prompt: "Globex here. Say anything.", save: anything }
        - goto: main
`;
}

export type ApiAnswer = JsonAnswer;

export interface ApiCallOptions {
  /** The Bearer key; ACME_KEY unless given, null for no Authorization header. */
  key?: string | null;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface World {
  h: DialogHarness;
  bank: FakeProtectedApi;
  acmeEvents: FakeEventReceiver;
  globexEvents: FakeEventReceiver;
  /** One operator API call to the gateway's own port. */
  api(method: string, path: string, options?: ApiCallOptions): Promise<ApiAnswer>;
  close(): Promise<void>;
}

/** The fake bank, two event receivers and the gateway (web and workers unless `gateway: false`). */
export async function startWorld(
  options: { gateway?: boolean; label?: string; adjust?: (config: Config) => void; clock?: Clock } = {},
): Promise<World> {
  const bank = await startFakeProtectedApi();
  const acmeEvents = await startEventReceiver(ACME_EVENTS_SECRET);
  const globexEvents = await startEventReceiver(GLOBEX_EVENTS_SECRET);
  let h: DialogHarness;
  try {
    h = await startDialogHarness({
      label: options.label ?? 'identity-e2e',
      gateway: options.gateway ?? true,
      ...(options.adjust ? { adjust: options.adjust } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      files: (twilio) => ({
        'switchboard.yaml': e2eConfigYaml({
          twilio,
          bank: bank.url,
          acmeEvents: acmeEvents.url,
          globexEvents: globexEvents.url,
        }),
      }),
      variables: {
        ACME_API_KEY: ACME_KEY,
        GLOBEX_API_KEY: GLOBEX_KEY,
        ACME_EVENTS_SECRET,
        GLOBEX_EVENTS_SECRET,
      },
    });
  } catch (error) {
    await Promise.all([bank.close(), acmeEvents.close(), globexEvents.close()]);
    throw error;
  }
  return {
    h,
    bank,
    acmeEvents,
    globexEvents,
    api: (method, path, callOptions) => apiCall(h.url, method, path, callOptions),
    async close() {
      await h.close();
      await Promise.all([bank.close(), acmeEvents.close(), globexEvents.close()]);
    },
  };
}

export async function apiCall(
  baseUrl: string,
  method: string,
  path: string,
  options: ApiCallOptions = {},
): Promise<ApiAnswer> {
  return jsonRequest(baseUrl, method, path, {
    ...options,
    key: options.key === undefined ? ACME_KEY : options.key,
  });
}

/** The event types a receiver accepted, in order of arrival. */
export function typesOf(deliveries: ReceivedDelivery[]): string[] {
  return deliveries.map((d) => String(d.event?.type));
}

/**
 * Resolves with the first accepted delivery matching `predicate`, already received or still to come.
 * Wakes on each new accepted delivery (never on a timer); rejects after `timeoutMs`.
 */
export async function waitForEvent(
  receiver: FakeEventReceiver,
  predicate: (event: Record<string, unknown>) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<ReceivedDelivery> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = receiver.accepted().find((d) => d.event !== undefined && predicate(d.event));
    if (found) return found;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`no event ${what}; received: ${typesOf(receiver.accepted()).join(', ') || 'nothing'}`);
    }
    await receiver.waitForAccepted(receiver.accepted().length + 1, left).catch(() => undefined);
  }
}

/** Every key under the prefix, sorted (SCAN, as an operator would on a live Redis). */
export async function scanKeys(redis: Redis, prefix: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    for (const key of keys) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...found].sort();
}

/** Everything a key's value holds, as text (for "nothing about the user is left in clear"). */
export async function valueText(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  switch (type) {
    case 'string':
      return (await redis.get(key)) ?? '';
    case 'hash':
      return JSON.stringify(await redis.hgetall(key));
    case 'list':
      return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set':
      return JSON.stringify(await redis.smembers(key));
    case 'zset':
      return JSON.stringify(await redis.zrange(key, '0', '-1'));
    case 'stream':
      return JSON.stringify(await redis.xrange(key, '-', '+'));
    default:
      return '';
  }
}

/**
 * Resolves when no conversation, reply or event job waits or runs, so that a SCAN sees no key that is
 * about to go. Nothing announces "idle", so this polls (bounded).
 */
export async function queuesIdle(h: DialogHarness): Promise<void> {
  const queues = new Queues(h.redis, h.keys, h.env.SWITCHBOARD_QUEUE_SHARDS);
  const events = new Queue(EVENTS_QUEUE, {
    connection: h.redis,
    prefix: new IdentityKeys(h.keys).eventsQueuePrefix(),
  });
  try {
    await eventually(async () => {
      const depth = await queues.depth();
      const pending = Object.values(await events.getJobCounts('wait', 'active', 'delayed', 'prioritized'));
      const total = depth.conversations + depth.sends + pending.reduce((a, b) => a + b, 0);
      return total === 0 ? true : undefined;
    }, 'conversation, send and event queues idle');
  } finally {
    await Promise.all([queues.close(), events.close()]);
  }
}

/** A US number nobody else in the run uses. */
export { randomNumber } from '../dialog/helpers.js';
