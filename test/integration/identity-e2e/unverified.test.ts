// A name and email typed in a profile step stay unverified: shown as such by the API, and never a key to a verified user's data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import {
  ASK_USERNAME,
  BALANCE_TEXT,
  MAIN_PROMPT,
  randomNumber,
  startWorld,
  waitForEvent,
  type World,
} from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld({ label: 'e2e-unverified' });
});
afterAll(async () => {
  await w?.close();
});

interface HistoryAnswer {
  userId: string;
  entries: { direction: string; channel: string; address: string; text: string; secret: boolean }[];
}

describe('unverified profile', () => {
  it('is shown as unverified and sees only its own identity’s history, never the verified namesake’s', async () => {
    // The real Zhang San: registered by the operator, with a token and a conversation on WhatsApp.
    const real = randomNumber();
    await w.api('POST', '/v1/users', {
      body: {
        userId: 'member-8',
        name: 'Zhang San',
        email: 'zs@example.com',
        identities: [{ channel: 'whatsapp', address: real }],
        tokens: { 'bank-login': { token: 'operator-token-8', ttl: 3600 } },
      },
    });
    w.bank.accept('operator-token-8');
    const owner = w.h.whatsapp(real);
    await owner.send('hi');
    expect(await owner.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]);

    // Someone else on SMS claims to be Zhang San, with the same email.
    const claimant = randomNumber();
    const sms = w.h.sms(claimant);
    expect(await sms.send('hi')).toEqual([MAIN_PROMPT]);
    expect(await sms.send('2')).toEqual(['What is your name?']);
    expect(await sms.send('Zhang San')).toEqual(['What is your email address?']);
    expect(await sms.send('zs@example.com')).toEqual(['Thanks, Zhang San.', MAIN_PROMPT]);
    expect(await sms.send('who am I')).toEqual(['You are Zhang San (unverified).', MAIN_PROMPT]);
    // No token comes with the name: the balance needs a login.
    expect(await sms.send('1')).toEqual([ASK_USERNAME]);
    expect(w.bank.balanceTokens).toEqual(['operator-token-8']);

    // How the operator finds the claimant's user id: every event about the conversation carries it.
    const started = await waitForEvent(
      w.acmeEvents,
      (e) =>
        e.type === 'conversation.started' &&
        e.channel === 'sms' &&
        String(e.userId).startsWith('anon:') &&
        (e.data as { bot?: string }).bot === 'bank' &&
        e.userId === `anon:${new IdentityKeys(w.h.keys).identityHash('acme', `sms:${claimant}`)}`,
      'conversation.started of the claimant',
    );
    const anonId = String(started.event!.userId);
    expect(anonId).toMatch(/^anon:[A-Za-z0-9_-]{22}$/);

    const shown = await w.api('GET', `/v1/users/${encodeURIComponent(anonId)}`);
    expect(shown.status).toBe(200);
    expect(shown.json).toEqual({
      userId: anonId,
      externalId: null,
      tier: 'unverified',
      profile: { name: 'Zhang San', email: 'zs@example.com', customData: null, verified: false },
      identities: [{ channel: 'sms', address: claimant, verified: false, via: null, verifiedAt: null }],
      tokens: [],
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
    });

    const own = (await w.api('GET', `/v1/users/${encodeURIComponent(anonId)}/history?limit=200`))
      .json as HistoryAnswer;
    expect(own.entries.map((e) => [e.direction, e.text])).toEqual([
      ['in', 'hi'],
      ['out', MAIN_PROMPT],
      ['in', '2'],
      ['out', 'What is your name?'],
      ['in', 'Zhang San'],
      ['out', 'What is your email address?'],
      ['in', 'zs@example.com'],
      ['out', 'Thanks, Zhang San.'],
      ['out', MAIN_PROMPT],
      ['in', 'who am I'],
      ['out', 'You are Zhang San (unverified).'],
      ['out', MAIN_PROMPT],
      ['in', '1'],
      ['out', ASK_USERNAME],
    ]);
    expect(new Set(own.entries.map((e) => `${e.channel}:${e.address}`))).toEqual(
      new Set([`sms:${claimant}`]),
    );
    expect(JSON.stringify(own)).not.toContain(BALANCE_TEXT);

    const verified = (await w.api('GET', '/v1/users/member-8/history')).json as HistoryAnswer;
    expect(verified.entries.map((e) => [e.direction, e.channel, e.address, e.text])).toEqual([
      ['in', 'whatsapp', real, 'hi'],
      ['out', 'whatsapp', real, MAIN_PROMPT],
      ['in', 'whatsapp', real, '1'],
      ['out', 'whatsapp', real, BALANCE_TEXT],
      ['out', 'whatsapp', real, MAIN_PROMPT],
    ]);
    const member = (await w.api('GET', '/v1/users/member-8')).json as {
      profile: { name: string; email: string; verified: boolean };
      identities: { channel: string; address: string }[];
    };
    expect(member.profile).toEqual({
      name: 'Zhang San',
      email: 'zs@example.com',
      customData: null,
      verified: true,
    });
    expect(member.identities.map((i) => `${i.channel}:${i.address}`)).toEqual([`whatsapp:${real}`]);
  });

  it('an anonymous identity that only said hello is anonymous, with its own history', async () => {
    const phone = randomNumber();
    const sms = w.h.sms(phone);
    await sms.send('hello');
    const anonId = `anon:${new IdentityKeys(w.h.keys).identityHash('acme', `sms:${phone}`)}`;
    const shown = await w.api('GET', `/v1/users/${encodeURIComponent(anonId)}`);
    expect(shown.status).toBe(200);
    expect(shown.json).toMatchObject({
      userId: anonId,
      tier: 'anonymous',
      profile: { name: null, email: null, customData: null, verified: false },
      identities: [{ channel: 'sms', address: phone, verified: false }],
    });
    // The same identity hash in another workspace is not this user.
    expect((await w.api('GET', `/v1/users/${encodeURIComponent(anonId)}`, { key: 'nope' })).status).toBe(401);
  });
});
