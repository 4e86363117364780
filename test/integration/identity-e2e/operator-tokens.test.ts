// A user the operator registered gets their balance on WhatsApp with the operator's token; renewal and revocation take effect at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ASK_PASSWORD,
  ASK_USERNAME,
  BALANCE_TEXT,
  CANARY,
  MAIN_PROMPT,
  randomNumber,
  startWorld,
  type World,
} from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld({ label: 'e2e-tokens' });
});
afterAll(async () => {
  await w?.close();
});

describe('operator-registered user', () => {
  it('uses the registered token, then the renewed one, and asks to log in after revocation', async () => {
    const phone = randomNumber();
    const registered = await w.api('POST', '/v1/users', {
      body: {
        userId: 'member-42',
        name: 'Zhang San',
        identities: [{ channel: 'whatsapp', address: phone }],
        tokens: { 'bank-login': { token: 'operator-token-1', ttl: 3600 } },
      },
    });
    expect(registered.status).toBe(201);
    expect(registered.json).toEqual({ userId: 'member-42', tier: 'verified' });
    w.bank.accept('operator-token-1');
    w.bank.accept('operator-token-2');

    const chat = w.h.whatsapp(phone);
    expect(await chat.send('hi')).toEqual([MAIN_PROMPT]);
    expect(await chat.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    expect(w.bank.balanceTokens).toEqual(['operator-token-1']);
    expect(w.bank.logins).toEqual([]);

    const renewed = await w.api('PUT', '/v1/users/member-42/tokens/bank-login', {
      body: { token: 'operator-token-2', ttl: 600 },
    });
    expect(renewed.status).toBe(204);
    expect(renewed.text).toBe('');
    expect(await chat.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    expect(w.bank.balanceTokens).toEqual(['operator-token-1', 'operator-token-2']);

    const user = await w.api('GET', '/v1/users/member-42');
    expect(user.status).toBe(200);
    const view = user.json as { tokens: { component: string; expiresAt: string }[] };
    expect(view.tokens.map((t) => t.component)).toEqual(['bank-login']);
    // The renewed ttl (600 s), not the registered one (3600 s).
    const left = Date.parse(view.tokens[0]!.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(590_000);
    expect(left).toBeLessThanOrEqual(600_000);
    expect(user.text).not.toContain('operator-token');

    const revoked = await w.api('DELETE', '/v1/users/member-42/tokens');
    expect(revoked.status).toBe(204);
    expect(((await w.api('GET', '/v1/users/member-42')).json as { tokens: unknown[] }).tokens).toEqual([]);
    expect(await chat.send('1')).toEqual([ASK_USERNAME]);
    expect(w.bank.balanceTokens).toHaveLength(2); // no call with a revoked token

    // Logging in again yields a fresh token for the same user (the bank answers user.id = member-42).
    w.bank.addAccount('zhang', { password: CANARY, userId: 'member-42' });
    expect(await chat.send('zhang')).toEqual([ASK_PASSWORD]);
    expect(await chat.send(CANARY)).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    expect(w.bank.logins).toEqual(['zhang']);
    const fresh = w.bank.balanceTokens.at(-1)!;
    expect(fresh).toMatch(/^bank-[0-9a-f]{16}$/);
    const after = (await w.api('GET', '/v1/users/member-42')).json as {
      tier: string;
      profile: { name: string };
      identities: { channel: string; address: string; via: string }[];
      tokens: { component: string }[];
    };
    expect(after.tier).toBe('verified');
    expect(after.profile.name).toBe('Zhang San');
    expect(after.identities.map((i) => [i.channel, i.address, i.via])).toEqual([['whatsapp', phone, 'auth']]);
    expect(after.tokens.map((t) => t.component)).toEqual(['bank-login']);
  });

  it('revoking one component leaves the user asked to log in for it on the next balance', async () => {
    const phone = randomNumber();
    expect(
      (
        await w.api('POST', '/v1/users', {
          body: {
            userId: 'member-43',
            identities: [{ channel: 'whatsapp', address: phone }],
            tokens: { 'bank-login': { token: 'operator-token-43', ttl: 3600 } },
          },
        })
      ).status,
    ).toBe(201);
    w.bank.accept('operator-token-43');
    const chat = w.h.whatsapp(phone);
    await chat.send('hi');
    expect(await chat.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    expect((await w.api('DELETE', '/v1/users/member-43/tokens/bank-login')).status).toBe(204);
    expect(await chat.send('1')).toEqual([ASK_USERNAME]);
  });
});
