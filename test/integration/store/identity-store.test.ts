// Tiers, channel identities, voice caller-ID rules, unverified profiles, history and "who am I" against a real Redis.
import { afterEach, describe, expect, it } from 'vitest';
import { REDACTED } from '../../../src/store/identity-store.js';
import { whoAmIText } from '../../../src/identity/who-am-i.js';
import { identityWorld, type IdentityWorld } from '../identity/setup.js';

const worlds: IdentityWorld[] = [];
async function world(...args: Parameters<typeof identityWorld>): Promise<IdentityWorld> {
  const w = await identityWorld(...args);
  worlds.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

const SMS = 'sms:+15551110001';
const WHATSAPP = 'whatsapp:+15551110001';
const VOICE = 'voice:+15551110001';

describe('tiers', () => {
  it('is anonymous on first contact, with a derived id stable per workspace and identity', async () => {
    const w = await world();
    const user = await w.identity.resolveUser({ workspace: 'acme', identity: SMS });
    expect(user).toEqual({
      workspace: 'acme',
      userId: `anon:${w.keys.identityHash('acme', SMS)}`,
      tier: 'anonymous',
      identity: SMS,
      channel: 'sms',
    });
    const elsewhere = await w.identity.resolveUser({ workspace: 'globex', identity: SMS });
    expect(elsewhere.userId).not.toBe(user.userId);
    expect(whoAmIText(user)).toBe("I don't know you yet.");
  });

  it('is unverified once a profile step stored a name', async () => {
    const w = await world();
    await w.identity.saveProfile({ workspace: 'acme', identity: SMS, name: 'Zhang San' });
    await w.identity.saveProfile({ workspace: 'acme', identity: SMS, email: 'zs@example.com' });
    const user = await w.identity.resolveUser({ workspace: 'acme', identity: SMS });
    expect(user).toMatchObject({ tier: 'unverified', name: 'Zhang San', email: 'zs@example.com' });
    expect(whoAmIText(user)).toBe('You are Zhang San (unverified).');
    // The name was told on SMS: WhatsApp from the same number knows nothing.
    expect((await w.identity.resolveUser({ workspace: 'acme', identity: WHATSAPP })).tier).toBe('anonymous');
  });

  it('is verified after an auth success, and shares the user across the identities it verified', async () => {
    const w = await world();
    const verified = await w.identity.markVerified({
      workspace: 'acme',
      identity: SMS,
      userId: 'member-42',
      via: 'auth',
      component: 'bank-login',
    });
    expect(verified).toEqual({
      workspace: 'acme',
      userId: 'member-42',
      tier: 'verified',
      identity: SMS,
      channel: 'sms',
    });
    await w.identity.markVerified({
      workspace: 'acme',
      identity: WHATSAPP,
      userId: 'member-42',
      via: 'auth',
    });
    const onWhatsapp = await w.identity.resolveUser({ workspace: 'acme', identity: WHATSAPP });
    expect(onWhatsapp).toMatchObject({ userId: 'member-42', tier: 'verified' });
    expect(whoAmIText(onWhatsapp)).toBe('You are verified as member-42.');

    await w.tokens.put({ workspace: 'acme', userId: 'member-42' }, 'bank-login', {
      token: 'tok',
      ttlSeconds: 60,
    });
    const scope = { workspace: 'acme', userId: onWhatsapp.userId };
    expect((await w.tokens.get(scope, 'bank-login'))?.token).toBe('tok');
  });

  it('keeps the identity’s externalId when an auth step yields the same user', async () => {
    const w = await world();
    await w.identity.registerUser({
      workspace: 'acme',
      externalId: 'org-9',
      userId: 'member-7',
      identities: [SMS],
    });
    const user = await w.identity.markVerified({
      workspace: 'acme',
      identity: SMS,
      userId: 'member-7',
      via: 'auth',
    });
    expect(user.externalId).toBe('org-9');
    const other = await w.identity.markVerified({
      workspace: 'acme',
      identity: SMS,
      userId: 'member-8',
      via: 'auth',
    });
    expect(other.externalId).toBeUndefined();
    // The identity moved: member-7 no longer lists it.
    expect(
      (await w.identity.getUser({ workspace: 'acme', externalId: 'org-9', userId: 'member-7' }))?.identities,
    ).toEqual([]);
  });
});

describe('voice and caller ID', () => {
  it('does not verify a call because the same number is verified on SMS, unless the bot trusts caller ID', async () => {
    const w = await world();
    await w.identity.registerUser({ workspace: 'acme', userId: 'member-1', name: 'Ann', identities: [SMS] });
    const untrusted = await w.identity.resolveUser({
      workspace: 'acme',
      identity: VOICE,
      trustCallerId: false,
      callId: 'CA1',
    });
    expect(untrusted.tier).toBe('anonymous');
    const trusted = await w.identity.resolveUser({ workspace: 'acme', identity: VOICE, trustCallerId: true });
    expect(trusted).toMatchObject({
      userId: 'member-1',
      tier: 'verified',
      name: 'Ann',
      identity: VOICE,
      channel: 'voice',
    });
  });

  it('honours an in-call verification only in that call', async () => {
    const w = await world();
    await w.identity.markVerified({
      workspace: 'acme',
      identity: VOICE,
      userId: 'member-2',
      via: 'auth',
      callId: 'CA-first',
    });
    expect(
      (await w.identity.resolveUser({ workspace: 'acme', identity: VOICE, callId: 'CA-first' })).tier,
    ).toBe('verified');
    expect(
      (await w.identity.resolveUser({ workspace: 'acme', identity: VOICE, callId: 'CA-next' })).tier,
    ).toBe('anonymous');
    expect((await w.identity.resolveUser({ workspace: 'acme', identity: VOICE })).tier).toBe('anonymous');
  });

  it('honours an in-call verification no longer than a call can last: the same CallSid later is a replay', async () => {
    const w = await world({ useClock: true });
    await w.identity.markVerified({
      workspace: 'acme',
      identity: VOICE,
      userId: 'member-4',
      via: 'auth',
      callId: 'CA-long',
    });
    w.clock.now += 24 * 3_600_000; // Twilio's longest call
    expect(
      (await w.identity.resolveUser({ workspace: 'acme', identity: VOICE, callId: 'CA-long' })).tier,
    ).toBe('verified');
    w.clock.now += 1;
    expect(
      (await w.identity.resolveUser({ workspace: 'acme', identity: VOICE, callId: 'CA-long' })).tier,
    ).toBe('anonymous');
  });

  it('honours a voice identity the operator registered explicitly', async () => {
    const w = await world();
    await w.identity.registerUser({ workspace: 'acme', userId: 'member-3', identities: [VOICE] });
    expect(await w.identity.resolveUser({ workspace: 'acme', identity: VOICE, callId: 'CA9' })).toMatchObject(
      {
        userId: 'member-3',
        tier: 'verified',
      },
    );
  });
});

describe('history', () => {
  it('shares a verified user’s history across identities and redacts secrets', async () => {
    const w = await world();
    const sms = await w.identity.markVerified({
      workspace: 'acme',
      identity: SMS,
      userId: 'member-5',
      via: 'auth',
    });
    const wa = await w.identity.markVerified({
      workspace: 'acme',
      identity: WHATSAPP,
      userId: 'member-5',
      via: 'auth',
    });
    await w.identity.appendHistory(sms, { direction: 'in', channel: 'sms', text: 'balance', at: 1000 });
    await w.identity.appendHistory(sms, {
      direction: 'in',
      channel: 'sms',
      text: 'CANARY-PASSWORD',
      at: 2000,
      secret: true,
    });
    await w.identity.appendHistory(wa, {
      direction: 'out',
      channel: 'whatsapp',
      text: 'Your balance is 10',
      at: 3000,
    });
    expect(await w.identity.readHistory({ workspace: 'acme', userId: 'member-5' })).toEqual([
      { identity: SMS, direction: 'in', channel: 'sms', text: 'balance', at: 1000 },
      { identity: SMS, direction: 'in', channel: 'sms', text: REDACTED, at: 2000, secret: true },
      { identity: WHATSAPP, direction: 'out', channel: 'whatsapp', text: 'Your balance is 10', at: 3000 },
    ]);
    expect(await w.identity.readHistory({ workspace: 'acme', userId: 'member-5' }, 1)).toHaveLength(1);
    for (const key of await w.scan()) {
      const type = await w.redis.type(key);
      const raw =
        type === 'list'
          ? (await w.redis.lrange(key, 0, -1)).join()
          : type === 'hash'
            ? JSON.stringify(await w.redis.hgetall(key))
            : await w.redis.get(key);
      expect(raw).not.toContain('CANARY-PASSWORD');
      expect(raw).not.toContain('balance');
    }
  });

  it('caps history at the limit', async () => {
    const w = await world();
    const user = await w.identity.resolveUser({ workspace: 'acme', identity: SMS });
    for (let i = 0; i < 205; i++) {
      await w.identity.appendHistory(user, { direction: 'in', channel: 'sms', text: `m${i}`, at: i });
    }
    const all = await w.identity.readHistory({ workspace: 'acme', userId: user.userId }, 500);
    expect(all).toHaveLength(200);
    expect(all[0]?.text).toBe('m5');
    expect(all[199]?.text).toBe('m204');
  });

  it('gives an unverified identity only its own past, never the verified user’s', async () => {
    const w = await world();
    const owner = await w.identity.markVerified({
      workspace: 'acme',
      identity: SMS,
      userId: 'member-6',
      via: 'auth',
    });
    await w.identity.appendHistory(owner, {
      direction: 'in',
      channel: 'sms',
      text: 'owner secret balance',
      at: 1,
    });
    const impostorIdentity = 'sms:+15559990000';
    await w.identity.saveProfile({
      workspace: 'acme',
      identity: impostorIdentity,
      name: 'Zhang San',
      email: 'zs@example.com',
    });
    const impostor = await w.identity.resolveUser({ workspace: 'acme', identity: impostorIdentity });
    await w.identity.appendHistory(impostor, { direction: 'in', channel: 'sms', text: 'hello', at: 2 });
    expect(await w.identity.readHistory({ workspace: 'acme', userId: impostor.userId })).toEqual([
      { identity: impostorIdentity, direction: 'in', channel: 'sms', text: 'hello', at: 2 },
    ]);
    // The anonymous id is not usable with an externalId, nor in another workspace.
    expect(
      await w.identity.readHistory({ workspace: 'acme', externalId: 'x', userId: impostor.userId }),
    ).toEqual([]);
    expect(await w.identity.getUser({ workspace: 'globex', userId: impostor.userId })).toBeUndefined();
  });
});
