// Secret canaries: passwords, a PIN and issued tokens never appear in clear (or base64/URL-encoded) in Redis, logs, replies or history.
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityKeys } from '../../../src/store/identity-keys.js';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { sendJson, startFakeOperatorApi, type FakeOperatorApi } from '../../fakes/operator-api.js';
import { captureLogs } from '../../support/logs.js';
import { scanLines, scanRedis } from '../../support/secret-scan.js';
import { TEXT as ENGINE } from '../../../src/core/dialog.js';
import { botOn, type DialogHarness } from '../dialog/helpers.js';
import { account, bankBot, startBankHarness, TEXT } from './helpers.js';

const API_KEY = 'test-api-key-0123456789abcdef0123456789';

// --- the run ---

const hex = () => randomBytes(6).toString('hex');
const SMS_USER = `cn-sms-${hex()}`;
const WA_USER = `cn-wa-${hex()}`;
const SMS_PASSWORD = `sms-${hex()}-p@ss w/rd+`;
const SMS_WRONG = `wrong-${hex()}-p@ss w/rd+`;
const WA_PASSWORD = `wa-${hex()}-Pa$$:wörd?&`;
const MEMBER = String(randomInt(100_000, 999_999));
/** Ten digits, starting with 9 so that no millisecond timestamp of this decade contains it by chance. */
const PIN = `9${String(randomInt(100_000_000, 999_999_999))}`;
const LATE_USER = `cn-late-${hex()}`;
const LATE_PASSWORD = `late-${hex()}-p@ss w/rd+`;

/** A bot whose flow asks for a link code (typed on SMS, keyed on a call), on numbers of its own. */
const LINKER_NUMBERS = { sms: '+15005550031', voice: '+15005550032' };
const LINKER = botOn(
  'linker',
  `    flows:
      main:
        - link: { prompt: "Enter your code.", retries: 0, invalid: "No link." }
        - end: "Tier: {{user.tier}}."`,
  LINKER_NUMBERS,
);

let bank: FakeAuthService;
let receiver: FakeOperatorApi;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startFakeAuthService([
    account(SMS_USER, { password: SMS_PASSWORD, userId: `u-${SMS_USER}` }),
    account(WA_USER, { password: WA_PASSWORD, userId: `u-${WA_USER}` }),
    account(`cn-voice-${hex()}`, { memberId: MEMBER, pin: PIN, userId: MEMBER }),
    account(LATE_USER, { password: LATE_PASSWORD, userId: `u-${LATE_USER}` }),
  ]);
  // Operator events go to a receiver that keeps failing, so their BullMQ jobs (data hashes) stay in Redis.
  receiver = await startFakeOperatorApi({
    'POST /events': (_req, res) => sendJson(res, 500, { error: 'not now' }),
  });
  h = await startBankHarness({
    bots: `${bankBot({ bank: bank.url, pinDigits: 10 })}\n${LINKER}`,
    label: 'auth-canary',
    variables: { LOG_LEVEL: 'debug' },
    adjust: (config) => {
      config.workspaces.test!.events = { url: `${receiver.url}/events`, secret: 'events-secret-0123456789' };
    },
  });
});

afterAll(async () => {
  await h?.close();
  await receiver?.close();
  await bank?.close();
});

describe('secret canaries', () => {
  it('the scanner finds a planted canary in a key of every type, in any encoding, and in a log line', async () => {
    const canary = `planted-${hex()}-p@ss w/rd+`;
    const plant = `${h.prefix}:plant`;
    await h.redis.set(`${plant}:string`, `before ${canary} after`);
    await h.redis.hset(
      `${plant}:hash`,
      'data',
      JSON.stringify({ value: Buffer.from(`xx${canary}`).toString('base64') }),
    );
    await h.redis.rpush(`${plant}:list`, 'other', `q=${encodeURIComponent(canary)}`);
    await h.redis.sadd(`${plant}:set`, Buffer.from(`y${canary}`).toString('base64url'));
    await h.redis.zadd(`${plant}:zset`, 1, new URLSearchParams({ p: canary }).toString());
    await h.redis.xadd(`${plant}:stream`, '*', 'event', 'login', 'text', canary);
    const { logger, logs } = captureLogs('debug', 'planted');
    logger.debug('a careless line', { note: `typed ${canary}` });

    const { findings, types } = await scanRedis(h.redis, plant, [canary]);
    expect([...types.keys()].sort()).toEqual(['hash', 'list', 'set', 'stream', 'string', 'zset']);
    const foundIn = (type: string) =>
      findings.filter((f) => f.where === `redis ${type} ${plant}:${type}`).map((f) => f.encoding);
    expect(foundIn('string')).toContain('plain');
    expect(foundIn('hash')).toContain('base64');
    expect(foundIn('list')).toContain('url');
    // base64url and base64 agree wherever the text has no + or /, so either name may be reported.
    expect(foundIn('set').some((e) => e.startsWith('base64'))).toBe(true);
    expect(foundIn('zset')).toContain('form');
    expect(foundIn('stream')).toContain('plain');
    expect(scanLines('log', logs.lines, [canary]).map((f) => f.encoding)).toEqual(['plain']);
    await h.redis.del(...['string', 'hash', 'list', 'set', 'zset', 'stream'].map((t) => `${plant}:${t}`));
    expect((await scanRedis(h.redis, plant, [canary])).findings).toEqual([]);
  });

  it('login dialogs on SMS, WhatsApp and voice leave the password, PIN and tokens nowhere in clear', async () => {
    const answers: string[] = [];
    // SMS: a wrong password first (a secret too), then the right one.
    const sms = h.sms();
    expect(await sms.send('balance?')).toEqual([TEXT.username]);
    expect(await sms.send(SMS_USER)).toEqual([TEXT.password]);
    expect(await sms.send(SMS_WRONG)).toEqual([TEXT.wrong, TEXT.username]);
    expect(await sms.send(SMS_USER)).toEqual([TEXT.password]);
    expect(await sms.send(SMS_PASSWORD)).toEqual([TEXT.balance('1,234.56', 'USD')]);

    // WhatsApp: the auth service fails once (an error path that logs), then the login succeeds.
    const wa = h.whatsapp();
    expect(await wa.send('balance?')).toEqual([TEXT.username]);
    expect(await wa.send(WA_USER)).toEqual([TEXT.password]);
    bank.setMode('error');
    expect(await wa.send(WA_PASSWORD)).toEqual([TEXT.unavailable]);
    bank.setMode('up');
    expect(await wa.send('balance?')).toEqual([TEXT.username]);
    expect(await wa.send(WA_USER)).toEqual([TEXT.password]);
    expect(await wa.send(WA_PASSWORD)).toEqual([TEXT.balance('1,234.56', 'USD')]);

    // Voice: member number and PIN on the keypad.
    const call = h.call();
    answers.push(await call.start());
    answers.push(await call.press(MEMBER));
    answers.push(await call.press(PIN));
    expect(answers.at(-1)).toContain(TEXT.payment('42.00 USD', 'City Power'));

    // The events receiver has refused at least one delivery, so event jobs are waiting to be retried.
    expect(receiver.requests.length).toBeGreaterThan(0);

    const tokens = bank.issued.map((t) => t.token);
    expect(tokens).toHaveLength(2);
    const canaries = [SMS_PASSWORD, SMS_WRONG, WA_PASSWORD, PIN, ...tokens];

    const { findings, types, keys } = await scanRedis(h.redis, h.prefix, canaries);
    // The scan read Switchboard's keys and BullMQ's: strings, hashes (job data), lists, sorted sets, streams.
    expect([...types.keys()]).toEqual(expect.arrayContaining(['string', 'hash', 'list', 'zset', 'stream']));
    const jobHashes = [];
    for (const { key, type } of keys)
      if (
        key.startsWith(`${new IdentityKeys(h.keys).eventsQueuePrefix()}:`) &&
        type === 'hash' &&
        (await h.redis.hexists(key, 'data'))
      )
        jobHashes.push(key);
    expect(jobHashes.length).toBeGreaterThan(0); // operator event jobs with their data were among them
    const history = async (userId: string) => {
      const res = await fetch(`${h.url}/v1/users/${encodeURIComponent(userId)}/history?limit=100`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { entries: { direction: string; text: string; secret: boolean }[] };
    };
    const user = async (userId: string) =>
      (await fetch(`${h.url}/v1/users/${encodeURIComponent(userId)}`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      }).then((r) => r.json())) as unknown;
    // Before the login an identity's history is its own (anonymous); after it, the verified user's.
    const anonymous = (identity: string) => `anon:${new IdentityKeys(h.keys).identityHash('test', identity)}`;
    const histories = [
      await history(anonymous(sms.identity)),
      await history(`u-${SMS_USER}`),
      await history(anonymous(wa.identity)),
      await history(`u-${WA_USER}`),
      await history(anonymous(call.identity)),
      await history(`member-pin:${MEMBER}`),
    ];
    const secretLines = histories.map((x) => x.entries.filter((e) => e.secret).map((e) => e.text));
    // History is kept (so the check below means something), with every secret answer as [redacted].
    expect(secretLines).toEqual([
      ['[redacted]'], // the wrong password
      ['[redacted]'], // the right one, which verified the user
      ['[redacted]'], // the password the unavailable service never checked
      ['[redacted]'],
      [],
      ['[redacted]'], // the PIN
    ]);
    expect(histories[0]!.entries).toContainEqual(
      expect.objectContaining({ direction: 'in', text: SMS_USER }),
    );
    expect(histories[4]!.entries).toContainEqual(expect.objectContaining({ direction: 'in', text: MEMBER }));

    const everywhere = [
      ...findings,
      ...scanLines('gateway log', h.logs.lines, canaries),
      ...scanLines('reply sent through Twilio', h.twilio.requests, canaries),
      ...scanLines('TwiML answer', answers, canaries),
      ...scanLines('history', histories, canaries),
      ...scanLines(
        'operator API user',
        [await user(`u-${SMS_USER}`), await user(`u-${WA_USER}`), await user(`member-pin:${MEMBER}`)],
        canaries,
      ),
      ...scanLines('operator event delivered', receiver.requests, canaries),
      ...scanLines('dead letter', await h.redis.lrange(h.keys.deadLetters(), 0, -1), canaries),
    ];
    expect(everywhere).toEqual([]);
    // The log was at debug and did say something about every turn.
    expect(h.logs.lines.filter((l) => l.message === 'turn handled').length).toBeGreaterThanOrEqual(14);
  });

  it('a password typed after the session expired and link codes typed in groups, keyed or at a prompt leave no trace in clear', async () => {
    const linkCode = async (userId: string, keypad: boolean) => {
      const res = await fetch(`${h.url}/v1/link-codes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId, name: userId, keypad }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { code: string }).code;
    };
    const linked = (userId: string) => ENGINE.linked(`You are ${userId} (verified).`);
    const users = {
      typed: `cn-typed-${hex()}`,
      prompted: `cn-prompted-${hex()}`,
      keyed: `cn-keyed-${hex()}`,
    };
    const typed = await linkCode(users.typed, false);
    const prompted = await linkCode(users.prompted, false);
    const keyed = await linkCode(users.keyed, true);
    expect([typed, prompted]).toEqual([
      expect.stringMatching(/^[0-9A-Z]{10}$/),
      expect.stringMatching(/^[0-9A-Z]{10}$/),
    ]);
    expect(keyed).toMatch(/^\d{10}$/);
    // What the users send, exactly: the canaries are these texts as well as the codes.
    const grouped = `link ${typed.slice(0, 5).toLowerCase()} ${typed.slice(5)}`;
    const dashed = `${prompted.slice(0, 5)}-${prompted.slice(5).toLowerCase()}`;

    // LINK with a code of letters and digits in two groups, to the bank bot.
    const texter = h.sms();
    expect(await texter.send(grouped)).toEqual([linked(users.typed)]);
    // A code typed with a dash at the linker bot's prompt.
    const prompt = h.sms(undefined, LINKER_NUMBERS.sms);
    expect(await prompt.send('hello')).toEqual(['Enter your code.']);
    expect(await prompt.send(dashed)).toEqual([linked(users.prompted), 'Tier: verified.']);
    // A keypad code keyed on a call to the linker bot.
    const call = h.call(undefined, LINKER_NUMBERS.voice);
    await call.start();
    const keyedAnswer = await call.press(keyed);
    expect(keyedAnswer).toContain(linked(users.keyed));
    expect(keyedAnswer).toContain('Tier: verified.');

    // A password typed after the session expired while the bank bot waited for it: a fresh start.
    const late = h.sms();
    expect(await late.send('balance?')).toEqual([TEXT.username]);
    expect(await late.send(LATE_USER)).toEqual([TEXT.password]);
    await h.expireConversation(h.cid('bank', late.identity), 60_000);
    expect(await late.send(LATE_PASSWORD)).toEqual([TEXT.username]);

    // History is sealed in Redis: what the operator API reads back from it is scanned too.
    const anonymous = (identity: string) => `anon:${new IdentityKeys(h.keys).identityHash('test', identity)}`;
    const histories = [];
    for (const userId of [
      anonymous(texter.identity),
      users.typed,
      anonymous(prompt.identity),
      users.prompted,
      anonymous(call.identity),
      users.keyed,
      anonymous(late.identity),
    ]) {
      const res = await fetch(`${h.url}/v1/users/${encodeURIComponent(userId)}/history?limit=100`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      expect(res.status).toBe(200);
      histories.push(
        ((await res.json()) as { entries: { direction: string; text: string }[] }).entries
          .filter((e) => e.direction === 'in')
          .map((e) => e.text),
      );
    }
    // Kept, each secret answer as [redacted] (the user typed after the expiry counts as the prompt's).
    expect(histories).toEqual([
      [],
      ['[redacted]'],
      ['hello'],
      ['[redacted]'],
      [],
      ['[redacted]'],
      ['balance?', LATE_USER, '[redacted]'],
    ]);

    const canaries = [typed, prompted, keyed, grouped, dashed, LATE_PASSWORD];
    const { findings } = await scanRedis(h.redis, h.prefix, canaries);
    const everywhere = [
      ...findings,
      ...scanLines('gateway log', h.logs.lines, canaries),
      ...scanLines('reply sent through Twilio', h.twilio.requests, canaries),
      ...scanLines('TwiML answer', [keyedAnswer], canaries),
      ...scanLines('history', histories, canaries),
      ...scanLines('operator event delivered', receiver.requests, canaries),
      ...scanLines('dead letter', await h.redis.lrange(h.keys.deadLetters(), 0, -1), canaries),
    ];
    expect(everywhere).toEqual([]);
  });
});
