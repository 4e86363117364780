// Key names under a Redis copy: no link code, phone number or user id can be read back from them, and data named the old way is moved at start-up.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { gatewayWithKeys } from '../auth/helpers.js';
import type { DialogHarness } from '../dialog/helpers.js';
import { apiCall, BALANCE_TEXT, MAIN_PROMPT, randomNumber, startWorld, type World } from './helpers.js';
import { sealTheOldWay } from '../../support/legacy-seal.js';

/** The names earlier versions gave, written out here as they were: an unkeyed SHA-256, base64url, 22 characters. */
const sha = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);
const OLD = {
  linkCode: (workspace: string, code: string) => sha(['link', workspace, code].join('\0')),
  identity: (workspace: string, identity: string) => sha(['identity', workspace, identity].join('\0')),
  user: (workspace: string, userId: string) => sha(['user', workspace, '-', userId].join('\0')),
  conversation: (bot: string, identity: string) => sha(`${bot}\n${identity}`),
};

async function keysOf(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

/** What the start-up migration reported, if it ran. */
const migrated = (h: DialogHarness) =>
  h.logs.lines.find((l) => l.message === 'key names checked for the unkeyed names of earlier versions');

let w: World;
beforeAll(async () => {
  w = await startWorld({ label: 'e2e-keynames' });
});
afterAll(async () => {
  await w?.close();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('key names', () => {
  it('reveal no link code: neither the issued codes nor any of the 10⁶ six-digit codes hash the old way to a link-code key name', async () => {
    const issued: string[] = [];
    for (let i = 0; i < 5; i++) {
      // Typed codes and, for callers, keypad codes (10 digits: 10¹⁰ values, an afternoon's work unkeyed).
      const body = i < 3 ? { userId: `member-lc-${i}` } : { userId: `member-lc-${i}`, keypad: true };
      const created = await w.api('POST', '/v1/link-codes', { body });
      expect(created.status, created.text).toBe(201);
      issued.push((created.json as { code: string }).code);
    }
    const ik = new IdentityKeys(w.h.keys);
    const names = (await keysOf(w.h.redis, ik.everyLinkCode())).map((k) => ik.linkCodeHashOf(k)!);
    expect(names).toHaveLength(5);

    const wanted = new Set(names);
    const recovered: string[] = [];
    for (let n = 0; n < 1_000_000; n++) {
      const code = String(n).padStart(6, '0');
      if (wanted.has(OLD.linkCode('acme', code))) recovered.push(code);
    }
    expect(recovered).toEqual([]);
    // Even someone who knows a code cannot tell its key by hashing it: the name is keyed.
    expect(issued.filter((code) => wanted.has(OLD.linkCode('acme', code)))).toEqual([]);
    expect(
      issued.filter((code) =>
        wanted.has(new IdentityKeys(w.h.keys).linkCode('acme', code).split('{')[1]!.slice(0, -1)),
      ),
    ).toHaveLength(5);

    // The codes still work.
    const chat = w.h.sms(randomNumber());
    expect(await chat.send(`LINK ${issued[0]}`)).toEqual([TEXT.linked('You are verified as member-lc-0.')]);
  });

  it('are not the unkeyed hashes of a phone number or a user id: identities, users and conversations', async () => {
    const member = randomNumber();
    const stranger = randomNumber();
    const registered = await w.api('POST', '/v1/users', {
      body: { userId: 'member-kn', identities: [{ channel: 'sms', address: member }] },
    });
    expect(registered.status, registered.text).toBe(201);
    expect(await w.h.sms(member).send('hi')).toEqual([MAIN_PROMPT]);
    expect(await w.h.sms(stranger).send('hi')).toEqual([MAIN_PROMPT]);

    const all = await keysOf(w.h.redis, w.h.keys.everything());
    const old = [
      OLD.identity('acme', `sms:${member}`),
      OLD.identity('acme', `sms:${stranger}`),
      OLD.user('acme', 'member-kn'),
      OLD.conversation('bank', `sms:${member}`),
      OLD.conversation('bank', `sms:${stranger}`),
    ];
    expect(all.filter((key) => old.some((hash) => key.includes(hash)))).toEqual([]);

    // What they are instead: keyed hashes, under which the data is found.
    const ik = new IdentityKeys(w.h.keys);
    for (const hash of [
      ik.identityHash('acme', `sms:${member}`),
      ik.identityHash('acme', `sms:${stranger}`),
      ik.scopeHash({ workspace: 'acme', userId: 'member-kn' }),
      w.h.keys.conversationId('bank', `sms:${member}`),
      w.h.keys.conversationId('bank', `sms:${stranger}`),
    ]) {
      expect(
        all.some((key) => key.includes(`{${hash}}`)),
        hash,
      ).toBe(true);
    }
    // The anonymous user id is that keyed hash too: it tells an API key holder nothing about the number.
    const anonymous = `anon:${ik.identityHash('acme', `sms:${stranger}`)}`;
    expect((await w.api('GET', `/v1/users/${encodeURIComponent(anonymous)}`)).status).toBe(200);
    const oldAnonymous = `anon:${OLD.identity('acme', `sms:${stranger}`)}`;
    expect((await w.api('GET', `/v1/users/${encodeURIComponent(oldAnonymous)}`)).status).toBe(404);
  });

  it('written by an earlier version (unkeyed) are moved at start-up: a user’s token, a link code and an opt-out still work', async () => {
    const old = await startWorld({ label: 'e2e-keynames-old', gateway: false });
    cleanups.push(() => old.close());
    const { redis } = old.h;
    // As the old version sealed them: without a place (they open wherever they are, until re-sealed).
    const seal = (value: unknown) =>
      sealTheOldWay(
        typeof value === 'string' ? value : JSON.stringify(value),
        old.h.processEnv.SWITCHBOARD_DATA_KEY!,
      );
    const now = Date.now();

    // A registered user with a WhatsApp identity and a cached token, as the old version wrote them.
    const phone = randomNumber();
    const identity = `whatsapp:${phone}`;
    const oldKeys = new IdentityKeys(old.h.keys);
    const user = oldKeys.userKeysOf(OLD.user('acme', 'member-old'));
    const record = oldKeys.identityRecord(OLD.identity('acme', identity));
    await redis.set(
      user.profile,
      seal({ userId: 'member-old', via: 'operator', createdAt: now, updatedAt: now }),
    );
    await redis.hset(
      user.identities,
      OLD.identity('acme', identity),
      seal({ identity, via: 'operator', at: now }),
    );
    await redis.hset(user.tokenIndex, 'bank-login', String(now + 3_600_000));
    await redis.set(user.token('bank-login'), seal({ t: 'old-token', e: now + 3_600_000 }), 'PX', 3_600_000);
    await redis.hset(record, {
      id: seal(identity),
      ws: 'acme',
      seen: String(now),
      bind: seal({ userId: 'member-old', via: 'operator', at: now }),
    });
    old.bank.accept('old-token');

    // A live link code, and an identity that opted out of the bank bot.
    const code = '314159';
    const linkCode = oldKeys.legacyLinkCode('acme', code);
    await redis.set(
      linkCode,
      seal({ workspace: 'acme', userId: 'member-linked', expiresAt: now + 600_000 }),
      'PX',
      4_200_000,
    );
    const quiet = `sms:${randomNumber()}`;
    const quietRecord = oldKeys.identityRecord(OLD.identity('acme', quiet));
    await redis.hset(quietRecord, { id: seal(quiet), ws: 'acme', seen: String(now) });
    const optOut = old.h.keys.optOut(OLD.conversation('bank', quiet));
    await redis.set(optOut, '1');

    const upgraded = await gatewayWithKeys(old.h, { current: old.h.processEnv.SWITCHBOARD_DATA_KEY! });
    cleanups.push(upgraded.stop);
    expect(migrated(upgraded.h)).toMatchObject({
      ran: true,
      identities: 2,
      users: 1,
      optOuts: 1,
      unknown: 0,
    });
    // Nothing is left under the old names but the link code, which only its code could rename.
    expect(
      await redis.exists(
        user.profile,
        user.identities,
        user.tokenIndex,
        user.token('bank-login'),
        record,
        quietRecord,
        optOut,
      ),
    ).toBe(0);

    const chat = upgraded.h.whatsapp(phone);
    expect(await chat.send('hi')).toEqual([MAIN_PROMPT]);
    expect(await chat.send('1')).toEqual([BALANCE_TEXT, MAIN_PROMPT]); // the old token, no login
    const linker = randomNumber();
    expect(await upgraded.h.sms(linker).send(`LINK ${code}`)).toEqual([
      TEXT.linked('You are verified as member-linked.'),
    ]);
    expect(await redis.exists(linkCode)).toBe(0);
    expect(await upgraded.h.sms(quiet.slice('sms:'.length)).send('hello again')).toEqual([]);

    const member = await apiCall(upgraded.h.url, 'GET', '/v1/users/member-old');
    expect(member.json).toMatchObject({
      userId: 'member-old',
      identities: [{ channel: 'whatsapp', address: phone, verified: true, via: 'operator' }],
      tokens: [{ component: 'bank-login' }],
    });
    const linked = await apiCall(upgraded.h.url, 'GET', '/v1/users/member-linked');
    expect(linked.json).toMatchObject({
      identities: [{ channel: 'sms', address: linker, verified: true, via: 'link' }],
    });

    // What an old process still wrote during a rolling upgrade would be moved by the next start-up; one
    // that finds nothing stops the search for good.
    await upgraded.stop();
    const again = await gatewayWithKeys(old.h, { current: old.h.processEnv.SWITCHBOARD_DATA_KEY! });
    cleanups.push(again.stop);
    expect(migrated(again.h)).toMatchObject({ ran: true, identities: 0, users: 0, optOuts: 0, unknown: 0 });
    await again.stop();
    const third = await gatewayWithKeys(old.h, { current: old.h.processEnv.SWITCHBOARD_DATA_KEY! });
    cleanups.push(third.stop);
    expect(migrated(third.h)).toBeUndefined();
  });
});
