// Workspace walls end to end: another workspace's key cannot read, change, renew, revoke or erase a user, and never gets its events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import {
  BALANCE_TEXT,
  GLOBEX_KEY,
  GLOBEX_SMS,
  MAIN_PROMPT,
  queuesIdle,
  randomNumber,
  startWorld,
  type World,
} from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld({ label: 'e2e-walls' });
});
afterAll(async () => {
  await w?.close();
});

const NOT_FOUND = { error: { code: 'user_not_found', message: 'No such user in this workspace.' } };

describe('workspace walls', () => {
  it('globex’s key gets 404 for everything about acme’s user, and acme’s user is unchanged', async () => {
    const phone = randomNumber();
    const registered = await w.api('POST', '/v1/users', {
      body: {
        userId: 'acme-user-1',
        name: 'Zhang San',
        identities: [{ channel: 'whatsapp', address: phone }],
        tokens: { 'bank-login': { token: 'acme-token-1', ttl: 3600 } },
      },
    });
    expect(registered.status).toBe(201);
    w.bank.accept('acme-token-1');
    const chat = w.h.whatsapp(phone);
    await chat.send('hi');
    expect(await chat.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    const anonOfPhone = `anon:${new IdentityKeys(w.h.keys).identityHash('acme', `sms:${phone}`)}`;
    await w.h.sms(phone).send('hello'); // an anonymous acme identity, for its anon: id

    const asGlobex = { key: GLOBEX_KEY };
    const attempts: [string, string, unknown?][] = [
      ['GET', '/v1/users/acme-user-1'],
      ['GET', '/v1/users/acme-user-1/history'],
      ['PUT', '/v1/users/acme-user-1/tokens/bank-login', { token: 'stolen', ttl: 60 }],
      ['PUT', '/v1/users/acme-user-1/tokens/globex-login', { token: 'stolen', ttl: 60 }],
      ['DELETE', '/v1/users/acme-user-1/tokens'],
      ['DELETE', '/v1/users/acme-user-1/tokens/bank-login'],
      ['DELETE', '/v1/users/acme-user-1'],
      ['GET', `/v1/users/${encodeURIComponent(anonOfPhone)}`],
      ['GET', `/v1/users/${encodeURIComponent(anonOfPhone)}/history`],
      ['DELETE', `/v1/users/${encodeURIComponent(anonOfPhone)}`],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await w.api(method, path, { ...asGlobex, ...(body ? { body } : {}) });
      expect([method, path, answer.status, answer.json]).toEqual([method, path, 404, NOT_FOUND]);
    }
    // The anon id exists for acme: the 404 above is the wall, not a typo.
    expect((await w.api('GET', `/v1/users/${encodeURIComponent(anonOfPhone)}`)).status).toBe(200);

    // "Changing" acme's user from globex makes globex's own user of the same id; acme's stays as it was.
    const globexSame = await w.api('POST', '/v1/users', {
      ...asGlobex,
      body: {
        userId: 'acme-user-1',
        name: 'Impostor',
        identities: [{ channel: 'whatsapp', address: phone }],
      },
    });
    expect(globexSame.status).toBe(201);
    expect(
      (
        await w.api('POST', '/v1/users', {
          ...asGlobex,
          body: {
            userId: 'acme-user-1',
            identities: [],
            tokens: { 'bank-login': { token: 'stolen', ttl: 60 } },
          },
        })
      ).status,
    ).toBe(422); // bank-login is not a component of any globex bot

    const acmeView = (await w.api('GET', '/v1/users/acme-user-1')).json as {
      profile: { name: string };
      identities: { channel: string; address: string; via: string }[];
      tokens: { component: string }[];
    };
    expect(acmeView.profile.name).toBe('Zhang San');
    expect(acmeView.identities.map((i) => [i.channel, i.address, i.via])).toEqual([
      ['whatsapp', phone, 'operator'],
    ]);
    expect(acmeView.tokens.map((t) => t.component)).toEqual(['bank-login']);
    expect(await chat.send('who am I')).toEqual(['You are Zhang San (verified).', MAIN_PROMPT]);
    expect(await chat.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    expect(w.bank.balanceTokens.filter((t) => t === 'stolen')).toEqual([]);

    // And the other way round: acme's key does not see globex's user.
    expect((await w.api('GET', '/v1/users/acme-user-1', asGlobex)).json).toMatchObject({
      profile: { name: 'Impostor' },
    });
    const globexOnly = await w.api('POST', '/v1/users', {
      ...asGlobex,
      body: { userId: 'globex-only', identities: [] },
    });
    expect(globexOnly.status).toBe(201);
    expect((await w.api('GET', '/v1/users/globex-only')).status).toBe(404);

    // A globex link code is not valid on an acme bot.
    const code = (
      (await w.api('POST', '/v1/link-codes', { ...asGlobex, body: { userId: 'g-9' } })).json as {
        code: string;
      }
    ).code;
    expect(await w.h.sms(randomNumber()).send(`LINK ${code}`)).toEqual([TEXT.linkInvalid]);
  });

  it('acme’s events reach only acme’s receiver, globex’s only globex’s', async () => {
    const acmeChat = w.h.sms(randomNumber());
    await acmeChat.send('hi');
    await acmeChat.send('STOP');
    const globexPhone = randomNumber();
    const globexChat = w.h.sms(globexPhone, GLOBEX_SMS);
    expect(await globexChat.send('hello')).toEqual(['Globex here. Say anything.']);
    await globexChat.send('STOP');
    await queuesIdle(w.h);

    const acme = w.acmeEvents.accepted().map((d) => d.event!);
    const globex = w.globexEvents.accepted().map((d) => d.event!);
    expect(acme.length).toBeGreaterThan(0);
    expect(new Set(acme.map((e) => e.workspace))).toEqual(new Set(['acme']));
    expect(globex.map((e) => [e.type, e.workspace, e.channel, (e.data as { bot: string }).bot])).toEqual([
      ['conversation.started', 'globex', 'sms', 'globex-desk'],
      ['user.opted_out', 'globex', 'sms', 'globex-desk'],
    ]);
    // No acme event went to globex's receiver, not even once (failed attempts included).
    expect(w.globexEvents.deliveries.every((d) => d.event?.workspace === 'globex')).toBe(true);
    expect(w.acmeEvents.deliveries.every((d) => d.event?.workspace === 'acme')).toBe(true);
    expect(globex.map((e) => e.userId)).toEqual([
      `anon:${new IdentityKeys(w.h.keys).identityHash('globex', `sms:${globexPhone}`)}`,
      `anon:${new IdentityKeys(w.h.keys).identityHash('globex', `sms:${globexPhone}`)}`,
    ]);
  });
});
