// The dialog's use of refresh: before a request with an expired token, and once when the API answers 401.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BotSchema, type BotConfig } from '../../../src/config/index.js';
import { DialogEngine, type DialogState } from '../../../src/core/dialog.js';
import type { InboundEvent } from '../../../src/core/events.js';
import { Templates } from '../../../src/core/templates.js';
import { manualClock } from '../../support/clock.js';
import { FakeServices, json } from './support/fake-services.js';

const USERNAME = 'What is your username?';
const UNAVAILABLE = "Sorry, we can't check your details right now. Please try again later.";

const BOT: BotConfig = BotSchema.parse({
  workspace: 'w',
  ...(parse(`
auth:
  bank-login:
    type: login
    url: https://bank.example/auth/token
    fields:
      - { name: username, prompt: "${USERNAME}" }
      - { name: password, prompt: "What is your password?", secret: true }
    token: { path: access_token }
    userIdPath: user.id
flows:
  main:
    - request:
        method: GET
        url: https://bank.example/api/balance
        headers: { Authorization: "Bearer {{authtoken}}" }
        auth: bank-login
        save: { balance: balance }
    - end: "Your balance is {{balance}}."
`) as object),
});

function conversation() {
  const clock = manualClock(1_700_000_000_000);
  const services = new FakeServices({ now: () => clock.now() });
  const engine = new DialogEngine({ templates: new Templates(), clock });
  let state: DialogState | null = null;
  let n = 0;
  const say = async (text: string) => {
    const event: InboundEvent = {
      id: `E${n}`,
      kind: 'message',
      botId: 'b',
      channel: 'sms',
      identity: 'sms:+12025550100',
      from: '+12025550100',
      to: '+15005550006',
      provider: { accountSid: 'AC1' },
      text,
      turn: n++,
      receivedAt: clock.now(),
    };
    const result = await engine.turn(
      { botId: 'b', bot: BOT, event, now: clock.now(), optedOut: false, services: services.ports },
      state,
    );
    state = result.state;
    return result.output.replies.map((r) => r.text);
  };
  return { clock, services, say };
}

/** Signs the fake user in with a token that lives `ttlSeconds`. */
async function signedIn(c: ReturnType<typeof conversation>, ttlSeconds: number) {
  await c.services.ports.markVerified('u-1', 'bank-login');
  await c.services.ports.storeToken('bank-login', 'u-1', { token: 'old', ttlSeconds });
}

const authorizations = (c: ReturnType<typeof conversation>) =>
  c.services.calls.map((call) => call.headers?.Authorization);

describe('refresh in the dialog', () => {
  it('a token about to expire is refreshed before the request, which carries the new one', async () => {
    const c = conversation();
    await signedIn(c, 20); // inside the 30-second margin
    c.services.refreshResults.push({
      result: 'refreshed',
      token: { token: 'new', expiresAt: c.clock.now() + 3_600_000 },
    });
    c.services.answers.push(json(200, { balance: '10.00' }));
    expect(await c.say('balance?')).toEqual(['Your balance is 10.00.']);
    expect(c.services.refreshCalls).toEqual([{ component: 'bank-login', force: false }]);
    expect(authorizations(c)).toEqual(['Bearer new']);
  });

  it('a live token beyond the margin is used without asking for a refresh', async () => {
    const c = conversation();
    await signedIn(c, 3600);
    c.services.answers.push(json(200, { balance: '10.00' }));
    expect(await c.say('balance?')).toEqual(['Your balance is 10.00.']);
    expect(c.services.refreshCalls).toEqual([]);
  });

  it('an expired token whose refresh is refused, or that has no refresh token, asks for credentials', async () => {
    const refused = conversation();
    await signedIn(refused, 1);
    refused.clock.advance(1000);
    refused.services.refreshResults.push({ result: 'refused' });
    expect(await refused.say('balance?')).toEqual([USERNAME]);
    expect(refused.services.calls).toEqual([]);

    const none = conversation();
    await signedIn(none, 1);
    none.clock.advance(1000);
    expect(await none.say('balance?')).toEqual([USERNAME]);
  });

  it('a provider away: an expired token waits with the unavailable text; a still-live one is used', async () => {
    const expired = conversation();
    await signedIn(expired, 1);
    expired.clock.advance(1000);
    expired.services.refreshResults.push({ result: 'unavailable' });
    expect(await expired.say('balance?')).toEqual([UNAVAILABLE]);
    expect(expired.services.calls).toEqual([]);

    const live = conversation();
    await signedIn(live, 20);
    live.services.refreshResults.push({ result: 'unavailable' });
    live.services.answers.push(json(200, { balance: '10.00' }));
    expect(await live.say('balance?')).toEqual(['Your balance is 10.00.']);
    expect(authorizations(live)).toEqual(['Bearer old']);
  });

  it('a 401 refreshes once (forced) and replays the request; a second 401 asks for credentials', async () => {
    const c = conversation();
    await signedIn(c, 3600);
    c.services.refreshResults.push({
      result: 'refreshed',
      token: { token: 'new', expiresAt: c.clock.now() + 3_600_000 },
    });
    c.services.answers.push(json(401, {}), json(200, { balance: '10.00' }));
    expect(await c.say('balance?')).toEqual(['Your balance is 10.00.']);
    expect(c.services.refreshCalls).toEqual([{ component: 'bank-login', force: true }]);
    expect(authorizations(c)).toEqual(['Bearer old', 'Bearer new']);

    const again = conversation();
    await signedIn(again, 3600);
    again.services.refreshResults.push({
      result: 'refreshed',
      token: { token: 'new', expiresAt: again.clock.now() + 3_600_000 },
    });
    again.services.answers.push(json(401, {}), json(401, {}));
    expect(await again.say('balance?')).toEqual([USERNAME]);
    expect(again.services.refreshCalls).toEqual([{ component: 'bank-login', force: true }]);
    expect(authorizations(again)).toEqual(['Bearer old', 'Bearer new']);
    expect(await again.services.ports.token('bank-login')).toBeUndefined();
  });
});
