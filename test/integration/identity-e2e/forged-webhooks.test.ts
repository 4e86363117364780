// Cross-tenant forgery: a workspace's own Twilio token cannot drive another workspace's bot, on any channel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTwilioApi, type FakeTwilioApi } from '../../fakes/twilio-api.js';
import { ACCOUNT_SID, NUMBERS, PUBLIC_URL } from '../../support/config.js';
import { newSid, TwilioWebhookClient } from '../../support/webhooks.js';
import { randomNumber, startDialogHarness, twilioYaml, type DialogHarness } from '../dialog/helpers.js';

/** Globex's own Twilio account: a real tenant, with a real token, that turns forger. */
const GLOBEX_SID = 'AC99999999999999999999999999999999';
const GLOBEX_TOKEN = 'globex-auth-token-fedcba9876543210';
const GLOBEX_SMS = '+15005550009';
const GLOBEX_VOICE = '+15005550010';

const echo = (name: string) => `    flows:
      main:
        - ask: { prompt: "${name} got {{input}}", save: last, keypad: true }
        - goto: main`;

/** acme on the top-level account, globex on its own. */
function configYaml(twilioA: string, twilioB: string): string {
  return `server:
  publicUrl: \${PUBLIC_URL}
  host: 127.0.0.1
  port: 0
${twilioYaml(twilioA)}
workspaces:
  acme:
    apiKeys: ["acme-forgery-key-0123456789abcdef0123"]
  globex:
    apiKeys: ["globex-forgery-key-0123456789abcdef01"]
    twilio: { accountSid: "${GLOBEX_SID}", authToken: "${GLOBEX_TOKEN}", apiBaseUrl: "${twilioB}" }
bots:
  bank:
    workspace: acme
    numbers: { sms: ["${NUMBERS.sms}"], whatsapp: ["${NUMBERS.whatsapp}"], voice: ["${NUMBERS.voice}"] }
${echo('acme')}
  desk:
    workspace: globex
    numbers: { sms: ["${GLOBEX_SMS}"], voice: ["${GLOBEX_VOICE}"] }
${echo('globex')}
`;
}

let h: DialogHarness;
let globexApi: FakeTwilioApi;
/** Webhooks signed as Twilio would for globex's account. */
let globex: TwilioWebhookClient;
beforeAll(async () => {
  globexApi = await startFakeTwilioApi({ [GLOBEX_SID]: GLOBEX_TOKEN });
  h = await startDialogHarness({
    label: 'forgery',
    files: (twilioA) => ({ 'switchboard.yaml': configYaml(twilioA, globexApi.url) }),
  });
  globex = new TwilioWebhookClient(h.url, PUBLIC_URL, GLOBEX_TOKEN, GLOBEX_SID);
});
afterAll(async () => {
  await h?.close();
  await globexApi?.close();
});

const refusal = (number: string) =>
  `Forbidden: AccountSid is not the Twilio account of the bot that serves ${number}.`;

/** Every key of these conversations (inbox, seen, state, turn answers…). */
async function conversationKeys(...conversations: [bot: string, identity: string][]): Promise<string[]> {
  const cids = conversations.map(([bot, identity]) => h.cid(bot, identity));
  return (await h.redis.keys(h.keys.conversationKeysPattern())).filter((key) =>
    cids.some((cid) => key.includes(cid)),
  );
}

describe('cross-tenant webhooks', () => {
  it('refuses SMS, WhatsApp and status callbacks signed by globex for acme’s numbers, and sends nothing', async () => {
    const victim = randomNumber();
    const sms = await globex.sms(victim, '1', { To: NUMBERS.sms });
    expect([sms.status, sms.body]).toEqual([403, refusal(NUMBERS.sms)]);
    const whatsapp = await globex.whatsapp(victim, '1', { To: `whatsapp:${NUMBERS.whatsapp}` });
    expect([whatsapp.status, whatsapp.body]).toEqual([403, refusal(NUMBERS.whatsapp)]);
    const status = await globex.post('/webhooks/status', {
      AccountSid: GLOBEX_SID,
      MessageSid: newSid(),
      MessageStatus: 'undelivered',
      ErrorCode: '30003',
      From: NUMBERS.sms,
      To: victim,
    });
    expect([status.status, status.body]).toEqual([403, refusal(NUMBERS.sms)]);
    const acme: [string, string][] = [
      ['bank', `sms:${victim}`],
      ['bank', `whatsapp:${victim}`],
    ];
    expect(await conversationKeys(...acme)).toEqual([]);

    // The victim's own next message is the first thing that conversation ever handles, and its reply
    // goes out on acme's account (the top-level one), not globex's.
    expect(await h.sms(victim).send('2')).toEqual(['acme got 2']);
    expect(h.twilio.messages.map((m) => [m.to, m.body, m.accountSid, m.authAccount])).toEqual([
      [victim, 'acme got 2', ACCOUNT_SID, ACCOUNT_SID],
    ]);
    expect(globexApi.requests).toEqual([]);
    expect(h.logs.find('webhook refused').map((l) => [l.path, l.reason])).toEqual([
      ['/webhooks/sms', `AccountSid is not the Twilio account of the bot that serves ${NUMBERS.sms}`],
      [
        '/webhooks/whatsapp',
        `AccountSid is not the Twilio account of the bot that serves ${NUMBERS.whatsapp}`,
      ],
      ['/webhooks/status', `AccountSid is not the Twilio account of the bot that serves ${NUMBERS.sms}`],
    ]);
  });

  it('refuses a forged call and its gather and status webhooks: no TwiML of the victim bot comes back', async () => {
    const caller = randomNumber();
    const callSid = newSid('CA');
    const paths = ['/webhooks/voice', '/webhooks/voice/gather?turn=1', '/webhooks/voice/status'];
    for (const path of paths) {
      const answer = await globex.post(path, {
        ...globex.callParams(callSid, caller, path.endsWith('status') ? 'completed' : 'in-progress'),
        Digits: '1',
      });
      expect([path, answer.status, answer.body]).toEqual([path, 403, refusal(NUMBERS.voice)]);
    }
    expect(await conversationKeys(['bank', `voice:${caller}`])).toEqual([]);
    expect(h.twilio.attemptsTo(caller)).toEqual([]);
    expect(globexApi.attemptsTo(caller)).toEqual([]);
  });

  it('refuses acme’s token on globex’s numbers (the workspace with its own account is protected too)', async () => {
    const victim = randomNumber();
    const sms = await h.webhooks.sms(victim, 'hi', { To: GLOBEX_SMS });
    expect([sms.status, sms.body]).toEqual([403, refusal(GLOBEX_SMS)]);
    const call = await h.webhooks.post('/webhooks/voice', {
      ...h.webhooks.callParams(newSid('CA'), victim),
      To: GLOBEX_VOICE,
      Called: GLOBEX_VOICE,
    });
    expect([call.status, call.body]).toEqual([403, refusal(GLOBEX_VOICE)]);
    expect(await conversationKeys(['desk', `sms:${victim}`], ['desk', `voice:${victim}`])).toEqual([]);

    // Globex's own signed SMS is answered on globex's account.
    const own = await globex.sms(victim, 'hello', { To: GLOBEX_SMS });
    expect(own.status).toBe(200);
    const [reply] = await globexApi.waitForMessages(victim, 1);
    expect([reply!.from, reply!.body, reply!.accountSid, reply!.authAccount]).toEqual([
      GLOBEX_SMS,
      'globex got hello',
      GLOBEX_SID,
      GLOBEX_SID,
    ]);
    expect(h.twilio.messagesTo(victim)).toEqual([]);
  });
});
