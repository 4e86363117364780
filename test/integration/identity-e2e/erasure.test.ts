// Erasure through DELETE /v1/users/{id}: every Redis key about the user goes, conversation state included, and they start anonymous.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog.js';
import { EVENTS_QUEUE, QueuedEventSink, type OperatorEvent } from '../../../src/operator-events/sink.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { matchesPattern } from '../../support/key-patterns.js';
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
  valueText,
  waitForEvent,
  type World,
} from './helpers.js';
import { captureLogs } from '../../support/logs.js';
import { eventually } from '../../support/wait.js';

let w: World;
beforeAll(async () => {
  w = await startWorld({ label: 'e2e-erase' });
});
afterAll(async () => {
  await w?.close();
});

const BOTS = ['bank', 'bank-trusting'];

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
    expect(await sms.send('hi')).toEqual([TEXT.retry, MAIN_PROMPT]);
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
          .replace(/:hits:\d+$/, ':hits:MINUTE'),
      )
      .sort();
    expect([...new Set(shapes)]).toEqual([
      'c:{H}:commit',
      'c:{H}:hits:MINUTE',
      'c:{H}:seen',
      'c:{H}:sent:SID',
      'c:{H}:state',
      'i:{H}',
      'i:{H}:ev',
      'i:{H}:hist',
      'i:{H}:lock',
      'u:{H}:codes',
      'u:{H}:ev',
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
    const ik = new IdentityKeys(w.h.keys);
    const rateLimit = matchesPattern(ik.everyApiRateLimit());
    const linkCode = matchesPattern(ik.everyLinkCode());
    // The audit log's sealed names go with the user's (here the only one, so the key goes).
    const auditNames = (k: string) => k === w.h.keys.auditLogNames('acme');
    expect(await w.h.redis.exists(w.h.keys.auditLogNames('acme'))).toBe(0);
    expect(after.filter((k) => !rateLimit(k))).toEqual(
      before.filter((k) => !aboutUser(k) && !rateLimit(k) && !linkCode(k) && !auditNames(k)),
    );
    // The outstanding link code was voided with the user.
    expect(before.filter(linkCode)).toHaveLength(1);
    expect(after.filter(linkCode)).toEqual([]);
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

describe('DELETE /v1/users/{id} and dead letters', () => {
  it('removes the dead-lettered turns of the user’s conversations and calls, and leaves others’', async () => {
    const phone = randomNumber();
    const bystander = randomNumber();
    const registered = await w.api('POST', '/v1/users', {
      body: {
        userId: 'member-dead',
        identities: [
          { channel: 'sms', address: phone },
          { channel: 'voice', address: phone },
        ],
      },
    });
    expect(registered.status).toBe(201);
    // Dead letters as the worker leaves them: the conversation id, the event id, the reason, the sealed event.
    const letter = (cid: string, eventId: string) =>
      JSON.stringify({ cid, eventId, reason: 'boom', at: Date.now(), sealedEvent: 'sealed' });
    const mine = w.h.keys.conversationId('bank', `sms:${phone}`);
    const myCall = w.h.keys.callConversationId('bank', `voice:${phone}`, 'CA0123');
    const theirs = w.h.keys.conversationId('bank', `sms:${bystander}`);
    const key = w.h.keys.deadLetters();
    await w.h.redis.lpush(key, letter(mine, 'SM1'), letter(theirs, 'SM2'), letter(myCall, 'CA0123:1'));
    // The call's caller half is the user's voice identity: it goes too.
    expect((await w.api('DELETE', '/v1/users/member-dead')).status).toBe(204);
    const left = (await w.h.redis.lrange(key, 0, -1)).map(
      (l) => (JSON.parse(l) as { eventId: string }).eventId,
    );
    expect(left).toEqual(['SM2']);
  });
});

describe('DELETE /v1/users/{id} while the events receiver is down', () => {
  it('removes the user’s queued, retrying and given-up events; once the receiver is back nothing about them is delivered', async () => {
    const phone = randomNumber();
    const bystander = randomNumber();
    // Every way an event job can name the user: their id, their number, the id they had while anonymous.
    const names = [
      'member-ev',
      phone,
      `anon:${new IdentityKeys(w.h.keys).identityHash('acme', `sms:${phone}`)}`,
    ];
    const naming = (text: string) => names.filter((n) => text.includes(n));
    const queue = new Queue<OperatorEvent>(EVENTS_QUEUE, {
      connection: w.h.redis,
      prefix: new IdentityKeys(w.h.keys).eventsQueuePrefix(),
    });
    const { logger } = captureLogs('info', 'old-sink');
    // An event queued 25 hours ago (a sink whose clock is set back): its next failure gives it up.
    const oldSink = new QueuedEventSink({
      connection: w.h.redis,
      keys: new IdentityKeys(w.h.keys),
      directory: () => ({ config: w.h.config }),
      logger,
      now: () => Date.now() - 25 * 3_600_000,
    });
    try {
      w.acmeEvents.respondWith(() => 503);
      const refusedBefore = w.acmeEvents.deliveries.length;
      // Anonymous on SMS first, then registered and talking on WhatsApp; a bystander talks too.
      expect(await w.h.sms(phone).send('hello')).toEqual([MAIN_PROMPT]);
      expect(
        (
          await w.api('POST', '/v1/users', {
            body: {
              userId: 'member-ev',
              identities: [
                { channel: 'whatsapp', address: phone },
                { channel: 'sms', address: phone },
              ],
            },
          })
        ).status,
      ).toBe(201);
      expect(await w.h.whatsapp(phone).send('hi')).toEqual([MAIN_PROMPT]);
      expect(await w.h.whatsapp(bystander).send('hi')).toEqual([MAIN_PROMPT]);
      await oldSink.emit({
        type: 'message.failed',
        workspace: 'acme',
        userId: 'member-ev',
        channel: 'whatsapp',
        identity: `whatsapp:${phone}`,
        data: { bot: 'bank', to: `whatsapp:${phone}`, reason: 'Twilio reported undelivered' },
      });

      // Each event was tried once and refused: three wait to be retried, the old one was given up.
      const jobsNaming = async (state: 'delayed' | 'failed') =>
        (await queue.getJobs([state])).filter((j) => naming(JSON.stringify(j.data)).length > 0);
      await eventually(async () => {
        const {
          waiting = 0,
          active = 0,
          delayed = 0,
          failed = 0,
        } = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
        return waiting + active === 0 && delayed >= 3 && failed >= 1 ? true : undefined;
      }, 'every event tried once');
      expect(w.acmeEvents.deliveries.length - refusedBefore).toBe(4);
      expect((await jobsNaming('delayed')).map((j) => j.data.type).sort()).toEqual([
        'conversation.started',
        'conversation.started',
      ]);
      expect((await jobsNaming('failed')).map((j) => j.data.type)).toEqual(['message.failed']);

      const logged = w.h.logs.find('operator events of an erased user removed').length;
      expect((await w.api('DELETE', '/v1/users/member-ev')).status).toBe(204);

      // No key of the events queue, whatever its type or the job's state, names the user any more.
      for (const key of await scanKeys(w.h.redis, new IdentityKeys(w.h.keys).eventsQueuePrefix()))
        expect(naming(await valueText(w.h.redis, key)), key).toEqual([]);
      // The log counts what went, and says nothing about whom.
      const removed = w.h.logs.find('operator events of an erased user removed').slice(logged);
      expect(removed).toEqual([expect.objectContaining({ workspace: 'acme', removed: 3, voided: 0 })]);
      expect(naming(JSON.stringify(removed))).toEqual([]);

      // The receiver is back; retries come due and given-up events are retried by hand: only the bystander's arrive.
      w.acmeEvents.respondWith(() => 200);
      const acceptedBefore = w.acmeEvents.accepted().length;
      await queue.retryJobs({ state: 'failed' });
      await queue.promoteJobs();
      await waitForEvent(
        w.acmeEvents,
        (e) =>
          e.userId === `anon:${new IdentityKeys(w.h.keys).identityHash('acme', `whatsapp:${bystander}`)}`,
        'the bystander’s conversation.started',
      );
      await queuesIdle(w.h);
      const delivered = w.acmeEvents.accepted().slice(acceptedBefore);
      expect(delivered.flatMap((d) => naming(d.body))).toEqual([]);
      expect(typesOf(delivered)).toEqual(['conversation.started']);
    } finally {
      w.acmeEvents.respondWith(() => 200);
      await Promise.all([queue.close(), oldSink.close()]);
    }
  });
});
