// Proactive test helpers: two workspaces, a bot with WhatsApp templates and a sign-in, an event receiver, the
// operator API with an Idempotency-Key.
import { randomUUID } from 'node:crypto';
import { startEventReceiver, type FakeEventReceiver } from '../../fakes/event-receiver.js';
import { startFakeProtectedApi, type FakeProtectedApi } from '../../fakes/protected-api.js';
import type { ManualClock } from '../../support/clock.js';
import { NUMBERS } from '../../support/config.js';
import { jsonRequest, type JsonAnswer } from '../../support/json-api.js';
import { startDialogHarness, twilioYaml, type DialogHarness } from '../dialog/helpers.js';

export const ACME_KEY = 'acme-proactive-key-0123456789abcdef0123';
export const GLOBEX_KEY = 'globex-proactive-key-fedcba9876543210fed';
export const EVENTS_SECRET = 'acme-proactive-events-secret';
export const GLOBEX_SMS = '+15005550009';
export const READY_SID = 'HX0123456789abcdef0123456789abcdef';
export const CARD_SID = 'HXfedcba9876543210fedcba9876543210';
export const CANARY = 'Canary-Pw-proactive-1';
export const ASK_USERNAME = 'What is your username?';
export const ASK_PASSWORD = 'What is your password?';
export const CARD_PROMPT = 'Was this you? Reply 1 or 2';

function configYaml(twilio: string, bank: string, events: string): string {
  return `server:
  publicUrl: \${PUBLIC_URL}
  host: 127.0.0.1
  port: 0
${twilioYaml(twilio)}
workspaces:
  acme:
    apiKeys: ["\${ACME_API_KEY}"]
    allowHosts: ["127.0.0.1"]
    events: { url: "${events}", secret: "\${EVENTS_SECRET}" }
  globex:
    apiKeys: ["\${GLOBEX_API_KEY}"]
bots:
  pharmacy:
    workspace: acme
    numbers: { sms: ["${NUMBERS.sms}"], whatsapp: ["${NUMBERS.whatsapp}"], voice: ["${NUMBERS.voice}"] }
    templates:
      ready: { contentSid: ${READY_SID}, variables: ["1", "2"] }
      card_check: { contentSid: ${CARD_SID}, variables: [name] }
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
    flows:
      main:
        - ask: { prompt: "Hello. Say anything.", save: anything }
      card_check:
        - ask: { prompt: "${CARD_PROMPT}", save: answer, pattern: "^[12]$" }
        - switch: { value: "{{answer}}", cases: { "1": confirm, "2": block } }
      confirm:
        - auth: bank-login
        - end: "Thanks {{name}}, the payment of {{amount}} is confirmed."
      block:
        - end: "The card is blocked."
  globex-desk:
    workspace: globex
    numbers: { sms: ["${GLOBEX_SMS}"] }
    flows:
      main:
        - end: "Globex here."
`;
}

export interface World {
  h: DialogHarness;
  bank: FakeProtectedApi;
  events: FakeEventReceiver;
  close(): Promise<void>;
}

export async function startWorld(label: string, clock?: ManualClock): Promise<World> {
  const bank = await startFakeProtectedApi();
  const events = await startEventReceiver(EVENTS_SECRET);
  try {
    const h = await startDialogHarness({
      label,
      ...(clock ? { clock } : {}),
      files: (twilio) => ({ 'switchboard.yaml': configYaml(twilio, bank.url, events.url) }),
      variables: { ACME_API_KEY: ACME_KEY, GLOBEX_API_KEY: GLOBEX_KEY, EVENTS_SECRET },
    });
    return {
      h,
      bank,
      events,
      async close() {
        await h.close();
        await Promise.all([bank.close(), events.close()]);
      },
    };
  } catch (error) {
    await Promise.all([bank.close(), events.close()]);
    throw error;
  }
}

/** One operator API call with the acme key (or `key`) and an Idempotency-Key (a fresh one unless given; null for none). */
export function post(
  h: DialogHarness,
  path: string,
  body: unknown,
  options: { idempotencyKey?: string | null; key?: string } = {},
): Promise<JsonAnswer> {
  const idempotencyKey = options.idempotencyKey === undefined ? randomUUID() : options.idempotencyKey;
  return jsonRequest(h.url, 'POST', path, {
    key: options.key ?? ACME_KEY,
    body,
    headers: idempotencyKey === null ? {} : { 'idempotency-key': idempotencyKey },
  });
}

export function get(h: DialogHarness, path: string, key = ACME_KEY): Promise<JsonAnswer> {
  return jsonRequest(h.url, 'GET', path, { key });
}
