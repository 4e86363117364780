// Erasure through DELETE /v1/users/{id}: every Redis key about the user goes, conversation state included, and they start anonymous.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import {
  ASK_PASSWORD,
  ASK_USERNAME,
  BALANCE_TEXT,
  MAIN_PROMPT,
  queuesIdle,
  randomNumber,
  scanKeys,
  startWorld,
  typesOf,
  type World,
} from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld({ label: 'e2e-erase' });
});
afterAll(async () => {
  await w?.close();
});

const BOTS = ['bank', 'bank-trusting'];

/** Everything a key's value holds, as text (for "nothing about the user is left in clear"). */
async function valueText(redis: Redis, key: string): Promise<string> {
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

describe('DELETE /v1/users/{id}', () => {
  it('removes every key about the user and their conversations; the rest stays, and they start anonymous', async () => {
    const phone = randomNumber();
    const bystander = randomNumber();
    const identities = [`whatsapp:${phone}`, `sms:${phone}`];
    // Every name that would mark a key as being about this user: their scope, identities and conversations.
    const marks = [
      new IdentityKeys(w.h.keys).scopeHash({ workspace: 'acme', userId: 'member-9' }),
      ...identities.map((i) => new IdentityKeys(w.h.keys).identityHash('acme', i)),
      ...identities.flatMap((i) => BOTS.map((bot) => w.h.keys.conversationId(bot, i))),
    ];
    const aboutUser = (key: string) => marks.some((m) => key.includes(m));

    // A bystander's conversation: its keys must all survive.
    const other = w.h.whatsapp(bystander);
    await other.send('hi');
    await other.send('2');
    await other.send('Bystander');

    // Before the operator registers them, the SMS identity talks as an anonymous stranger.
    const sms = w.h.sms(phone);
    expect(await sms.send('hello')).toEqual([MAIN_PROMPT]);

    expect(
      (
        await w.api('POST', '/v1/users', {
          body: {
            userId: 'member-9',
            name: 'Zhao Liu',
            email: 'zl@example.com',
            identities: [
              { channel: 'whatsapp', address: phone },
              { channel: 'sms', address: phone },
            ],
            tokens: { 'bank-login': { token: 'operator-token-9', ttl: 3600 } },
          },
        })
      ).status,
    ).toBe(201);
    w.bank.accept('operator-token-9');
    w.bank.addAccount('zhao', { password: 'right-password', userId: 'member-9' });
    const outstanding = (await w.api('POST', '/v1/link-codes', { body: { userId: 'member-9' } })).json as {
      code: string;
    };

    const whatsapp = w.h.whatsapp(phone);
    expect(await whatsapp.send('hi')).toEqual([MAIN_PROMPT]);
    expect(await whatsapp.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]);
    expect(await sms.send('who am I')).toEqual(['You are Zhao Liu (verified).', MAIN_PROMPT]);
    expect(await sms.send('LOGOUT')).toEqual([TEXT.loggedOut]);
    expect(await sms.send('hi')).toEqual([MAIN_PROMPT]);
    expect(await sms.send('1')).toEqual([ASK_USERNAME]);
    await sms.send('zhao');
    expect(await sms.send('wrong-password')).toEqual([TEXT.wrongCredentials, ASK_USERNAME]);
    // The operator puts a token back, so that one is cached when the user is erased.
    expect(
      (
        await w.api('PUT', '/v1/users/member-9/tokens/bank-login', {
          body: { token: 'operator-token-9', ttl: 3600 },
        })
      ).status,
    ).toBe(204);
    // Events of these turns are delivered (their queue settles) before Redis is read.
    await w.acmeEvents.waitForAccepted(4);
    expect(typesOf(w.acmeEvents.accepted()).sort()).toEqual([
      'auth.failed',
      'conversation.started',
      'conversation.started',
      'conversation.started',
    ]);

    await queuesIdle(w.h);
    const before = await scanKeys(w.h.redis, w.h.prefix);
    const userKeys = before.filter(aboutUser);
    // What the user left behind, with hashes and message ids written as placeholders.
    const shapes = userKeys
      .map((k) =>
        k
          .slice(w.h.prefix.length + 1)
          .replace(/\{[A-Za-z0-9_-]{22}\}/, '{H}')
          .replace(/:(SM|MM)[0-9a-f]{32}$/, ':SID')
          .replace(/:rate:\d+$/, ':rate:MINUTE'),
      )
      .sort();
    expect([...new Set(shapes)]).toEqual([
      'c:{H}:rate:MINUTE',
      'c:{H}:seen:SID',
      'c:{H}:state',
      'i:{H}',
      'i:{H}:hist',
      'i:{H}:lock',
      'u:{H}:codes',
      'u:{H}:hist',
      'u:{H}:ids',
      'u:{H}:profile',
      'u:{H}:tok:bank-login',
      'u:{H}:toks',
    ]);

    const erased = await w.api('DELETE', '/v1/users/member-9');
    expect(erased.status).toBe(204);

    const after = await scanKeys(w.h.redis, w.h.prefix);
    expect(after.filter(aboutUser)).toEqual([]);
    // Exactly the keys that were not about the user remain (the API's rate-limit window may be new).
    const rateLimit = (k: string) => k.startsWith(`${w.h.prefix}:rl:`);
    expect(after.filter((k) => !rateLimit(k))).toEqual(
      before.filter((k) => !aboutUser(k) && !rateLimit(k) && !k.startsWith(`${w.h.prefix}:lc:`)),
    );
    // The outstanding link code was voided with the user.
    expect(before.filter((k) => k.startsWith(`${w.h.prefix}:lc:`))).toHaveLength(1);
    expect(after.filter((k) => k.startsWith(`${w.h.prefix}:lc:`))).toEqual([]);
    // The bystander's conversation is untouched.
    const bystanderCid = w.h.keys.conversationId('bank', `whatsapp:${bystander}`);
    expect(after.filter((k) => k.includes(bystanderCid)).length).toBeGreaterThan(0);
    // Nothing left in Redis holds the user's number, id, name or email in clear.
    for (const key of after) {
      const text = await valueText(w.h.redis, key);
      for (const secret of [phone, 'member-9', 'Zhao Liu', 'zl@example.com']) {
        expect(text.includes(secret), `${key} holds ${secret}`).toBe(false);
      }
    }

    // Afterwards: a stranger, on both channels, with a fresh conversation and no way back in.
    expect((await w.api('GET', '/v1/users/member-9')).status).toBe(404);
    expect((await w.api('DELETE', '/v1/users/member-9')).status).toBe(404);
    expect(await whatsapp.send('who am I')).toEqual(["I don't know you yet."]);
    expect(await sms.send('who am I')).toEqual(["I don't know you yet."]);
    // The pending password question is gone: "1" starts a new conversation instead of answering it.
    expect(await sms.send('1')).toEqual([MAIN_PROMPT]);
    expect(await sms.send('1')).toEqual([ASK_USERNAME]);
    expect(await whatsapp.send(`LINK ${outstanding.code}`)).toEqual([TEXT.linkInvalid]);
    expect(ASK_PASSWORD).toBe('What is your password?');
  });
});
