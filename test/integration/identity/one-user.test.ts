// One user across auth methods: a password login and a PIN that name the same user id share the user;
// a login as someone else moves the identity (identity.moved), or is refused where moves are forbidden.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { startEventReceiver, type FakeEventReceiver } from '../../fakes/event-receiver.js';
import { jsonRequest } from '../../support/json-api.js';
import { account, tokenKey, tokenKeys } from '../auth/helpers.js';
import {
  NUMBERS,
  randomNumber,
  startDialogHarness,
  twilioYaml,
  type DialogHarness,
} from '../dialog/helpers.js';
import { queuesIdle } from '../identity-e2e/helpers.js';
import { eventually } from '../../support/wait.js';
import { Queue } from 'bullmq';
import { EVENTS_QUEUE } from '../../../src/operator-events/sink.js';
import { IdentityKeys } from '../../../src/store/identity-keys.js';

const OPEN_KEY = 'open-one-user-key-0123456789abcdef0123456';
const STRICT_KEY = 'strict-one-user-key-fedcba9876543210fedcb';
const EVENTS_SECRET = 'one-user-events-secret';
/** The SMS number of the bot in the workspace that forbids moves. */
const STRICT_SMS = '+15005550021';

const ASK = {
  username: 'Your username?',
  password: 'Your password?',
  member: 'Your member number?',
  pin: 'Your PIN?',
  card: 'Your card number?',
  cardPin: 'Your card PIN?',
};
const signedIn = (userId: string) => `Signed in as ${userId}.`;
const REFUSED = 'This number is already linked to another account. Contact support to change it.';

/** One bank bot: bank-login names users by its answer, member-pin by a template, card-pin by its answer. */
function bankBot(id: string, workspace: string, sms: string, bank: string): string {
  return `  ${id}:
    workspace: ${workspace}
    numbers: { sms: ["${sms}"] }
    auth:
      bank-login:
        type: login
        url: ${bank}/auth/token
        fields:
          - { name: username, prompt: "${ASK.username}" }
          - { name: password, prompt: "${ASK.password}", secret: true }
        token: { path: access_token }
        expiresInPath: expires_in
        userIdPath: user.id
      member-pin:
        type: verify
        url: ${bank}/auth/verify
        fields:
          - { name: auth_id, prompt: "${ASK.member}", keypad: true }
          - { name: auth_code, prompt: "${ASK.pin}", keypad: true, digits: 4, secret: true }
        userId: "m-{{auth_id}}"
      card-pin:
        type: verify
        url: ${bank}/auth/verify
        fields:
          - { name: card, prompt: "${ASK.card}", keypad: true }
          - { name: code, prompt: "${ASK.cardPin}", keypad: true, digits: 4, secret: true }
        userIdPath: member.id
    flows:
      main:
        - switch: { value: "{{input}}", cases: { password: password, pin: pin, card: card } }
        - end: "Say password, pin or card."
      password:
        - auth: bank-login
        - end: "Signed in as {{user.id}}."
      pin:
        - auth: member-pin
        - end: "Signed in as {{user.id}}."
      card:
        - auth: card-pin
        - end: "Signed in as {{user.id}}."
`;
}

let bank: FakeAuthService;
let openEvents: FakeEventReceiver;
let strictEvents: FakeEventReceiver;
let h: DialogHarness;

beforeAll(async () => {
  // Each member's login answers "m-<member number>", the id member-pin's template and card-pin's answer make.
  bank = await startFakeAuthService(
    ['5001', '5002', '5003', '5004', '5005', '5006', '5007', '5008', '5009', '5010', '5011'].map((member) =>
      account(`one-${member}`, { userId: `m-${member}`, memberId: member, pin: '2468' }),
    ),
  );
  openEvents = await startEventReceiver(EVENTS_SECRET);
  strictEvents = await startEventReceiver(EVENTS_SECRET);
  h = await startDialogHarness({
    label: 'one-user',
    files: (twilio) => ({
      'switchboard.yaml': `server:
  publicUrl: \${PUBLIC_URL}
  host: 127.0.0.1
  port: 0
${twilioYaml(twilio)}
workspaces:
  open:
    apiKeys: ["\${OPEN_KEY}"]
    allowHosts: ["127.0.0.1"]
    events: { url: "${openEvents.url}", secret: "\${EVENTS_SECRET}" }
  strict:
    apiKeys: ["\${STRICT_KEY}"]
    allowHosts: ["127.0.0.1"]
    events: { url: "${strictEvents.url}", secret: "\${EVENTS_SECRET}" }
    identityMoves: forbid
bots:
${bankBot('open-bank', 'open', NUMBERS.sms, bank.url)}${bankBot('strict-bank', 'strict', STRICT_SMS, bank.url)}`,
    }),
    variables: { OPEN_KEY, STRICT_KEY, EVENTS_SECRET },
  });
});

afterAll(async () => {
  await h?.close();
  await Promise.all([bank?.close(), openEvents?.close(), strictEvents?.close()]);
});

const api = (method: string, path: string, key: string, body?: unknown) =>
  jsonRequest(h.url, method, path, { key, ...(body !== undefined ? { body } : {}) });

/** The events a receiver took of one type, with `where` about them. */
function eventsOf(receiver: FakeEventReceiver, type: string, where: (e: Record<string, unknown>) => boolean) {
  return receiver
    .accepted()
    .map((d) => d.event!)
    .filter((e) => e.type === type && where(e));
}
const about = (identity: string) => (e: Record<string, unknown>) =>
  (e.data as Record<string, unknown>).identity === identity;

/** The cached-token keys of one user, sorted. */
async function tokenKeysOf(user: { workspace: string; userId: string }): Promise<string[]> {
  return (await tokenKeys(h)).filter((k) => k.startsWith(tokenKey(h, user, '')));
}

/** What the operator API says of a user: their identities (with how each was verified) and token components. */
async function userView(workspaceKey: string, userId: string) {
  const answer = await api('GET', `/v1/users/${encodeURIComponent(userId)}`, workspaceKey);
  if (answer.status !== 200) return answer.status;
  const json = answer.json as {
    identities: { channel: string; address: string; via?: string }[];
    tokens: { component: string }[];
  };
  return {
    identities: json.identities.map((i) => `${i.channel}:${i.address} (${i.via})`),
    tokens: json.tokens.map((t) => t.component).sort(),
  };
}

type Chat = ReturnType<DialogHarness['sms']>;

/** Logs in on `chat` by password as member `member`, who is user m-<member>. */
async function byPassword(chat: Chat, member: string, reply = [signedIn(`m-${member}`)]): Promise<void> {
  expect(await chat.send('password')).toEqual([ASK.username]);
  expect(await chat.send(`one-${member}`)).toEqual([ASK.password]);
  expect(await chat.send(`pw-one-${member}`)).toEqual(reply);
}

/** Logs in on `chat` by member-pin as member `member`. */
async function byPin(chat: Chat, member: string, reply = [signedIn(`m-${member}`)]): Promise<void> {
  expect(await chat.send('pin')).toEqual([ASK.member]);
  expect(await chat.send(member)).toEqual([ASK.pin]);
  expect(await chat.send('2468')).toEqual(reply);
}

const EVENT = {
  id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
  at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  externalId: null,
  channel: 'sms',
};

/** The one `identity.moved` a move of `identity` from `from` to `to` by member-pin sends. */
const movedEvent = (identity: string, from: string, to: string) => ({
  ...EVENT,
  type: 'identity.moved',
  workspace: 'open',
  userId: to,
  data: { identity, from, to, via: 'auth', component: 'member-pin' },
});

/** The `auth.failed` of a login the strict workspace refused: it names the user the identity stays with. */
const refusedEvent = (userId: string, component: string) => ({
  ...EVENT,
  type: 'auth.failed',
  workspace: 'strict',
  userId,
  data: { bot: 'strict-bank', component, reason: 'identity_move_forbidden' },
});

describe('one user across auth methods', () => {
  it('Two components, one operator user id: password then PIN leaves one user with both tokens', async () => {
    const phone = randomNumber();
    const chat = h.sms(phone);
    await byPassword(chat, '5001');
    await byPin(chat, '5001');

    const user = { workspace: 'open', userId: 'm-5001' };
    expect(await tokenKeysOf(user)).toEqual(
      [tokenKey(h, user, 'bank-login'), tokenKey(h, user, 'member-pin')].sort(),
    );
    expect(await userView(OPEN_KEY, 'm-5001')).toEqual({
      identities: [`sms:${phone} (auth)`],
      tokens: ['bank-login', 'member-pin'],
    });
    // The PIN made no second user, and moved nothing.
    expect(await userView(OPEN_KEY, 'member-pin:5001')).toBe(404);
    expect(await tokenKeysOf({ workspace: 'open', userId: 'member-pin:5001' })).toEqual([]);
    await queuesIdle(h);
    expect(eventsOf(openEvents, 'identity.moved', about(`sms:${phone}`))).toEqual([]);
    expect(eventsOf(openEvents, 'user.verified', about(`sms:${phone}`)).map((e) => e.userId)).toEqual([
      'm-5001',
      'm-5001',
    ]);
  });

  it("a verify component's userIdPath names the same user as the login's", async () => {
    const chat = h.sms();
    await byPassword(chat, '5002');
    expect(await chat.send('card')).toEqual([ASK.card]);
    expect(await chat.send('5002')).toEqual([ASK.cardPin]);
    expect(await chat.send('2468')).toEqual([signedIn('m-5002')]);
    const user = { workspace: 'open', userId: 'm-5002' };
    expect(await tokenKeysOf(user)).toEqual(
      [tokenKey(h, user, 'bank-login'), tokenKey(h, user, 'card-pin')].sort(),
    );
  });

  it('a login as another user moves the identity and emits exactly one identity.moved', async () => {
    const phone = randomNumber();
    const identity = `sms:${phone}`;
    const chat = h.sms(phone);
    await byPassword(chat, '5003');
    await byPin(chat, '5004');

    // The identity is B's; A keeps their token and loses only the identity.
    expect(await userView(OPEN_KEY, 'm-5004')).toEqual({
      identities: [`${identity} (auth)`],
      tokens: ['member-pin'],
    });
    expect(await userView(OPEN_KEY, 'm-5003')).toEqual({ identities: [], tokens: ['bank-login'] });
    // A's token is not B's: the password is asked again.
    expect(await chat.send('password')).toEqual([ASK.username]);

    await queuesIdle(h);
    expect(eventsOf(openEvents, 'identity.moved', about(identity))).toEqual([
      movedEvent(identity, 'm-5003', 'm-5004'),
    ]);
  });

  it('with moves forbidden the second login is refused: no token, the binding unchanged, auth.failed', async () => {
    const phone = randomNumber();
    const identity = `sms:${phone}`;
    const chat = h.sms(phone, STRICT_SMS);
    await byPassword(chat, '5005');
    await byPin(chat, '5006', [REFUSED]);

    expect(await userView(STRICT_KEY, 'm-5005')).toEqual({
      identities: [`${identity} (auth)`],
      tokens: ['bank-login'],
    });
    expect(await userView(STRICT_KEY, 'm-5006')).toBe(404);
    expect(await tokenKeysOf({ workspace: 'strict', userId: 'm-5006' })).toEqual([]);
    // Still A: A's token answers the password flow without asking.
    expect(await chat.send('password')).toEqual([signedIn('m-5005')]);

    await queuesIdle(h);
    expect(eventsOf(strictEvents, 'identity.moved', about(identity))).toEqual([]);
    expect(eventsOf(strictEvents, 'auth.failed', (e) => e.userId === 'm-5005')).toEqual([
      refusedEvent('m-5005', 'member-pin'),
    ]);
    expect(
      h.logs.find('login refused: the identity belongs to another user and the workspace forbids moves'),
    ).toEqual([
      expect.objectContaining({
        level: 'warn',
        bot: 'strict-bank',
        channel: 'sms',
        component: 'member-pin',
        conversation: h.cid('strict-bank', identity),
      }),
    ]);
  });

  it('an operator-registered identity logged into as another user follows the same rule', async () => {
    // Forbidden: the operator's user keeps the identity.
    const kept = randomNumber();
    const keptIdentity = `sms:${kept}`;
    const register = (key: string, userId: string, address: string) =>
      api('POST', '/v1/users', key, { userId, identities: [{ channel: 'sms', address }] });
    expect((await register(STRICT_KEY, 'op-7', kept)).status).toBe(201);
    const strictChat = h.sms(kept, STRICT_SMS);
    await byPassword(strictChat, '5007', [REFUSED]);
    expect(await userView(STRICT_KEY, 'op-7')).toEqual({
      identities: [`${keptIdentity} (operator)`],
      tokens: [],
    });
    expect(await userView(STRICT_KEY, 'm-5007')).toBe(404);
    expect(await tokenKeysOf({ workspace: 'strict', userId: 'm-5007' })).toEqual([]);
    // The operator API never moves an identity itself.
    expect((await register(STRICT_KEY, 'op-8', kept)).status).toBe(409);

    // Allowed: it moves, as any other.
    const moved = randomNumber();
    const movedIdentity = `sms:${moved}`;
    expect((await register(OPEN_KEY, 'op-9', moved)).status).toBe(201);
    await byPin(h.sms(moved), '5008');
    expect(await userView(OPEN_KEY, 'op-9')).toEqual({ identities: [], tokens: [] });
    expect(await userView(OPEN_KEY, 'm-5008')).toEqual({
      identities: [`${movedIdentity} (auth)`],
      tokens: ['member-pin'],
    });

    await queuesIdle(h);
    expect(eventsOf(strictEvents, 'auth.failed', (e) => e.userId === 'op-7')).toEqual([
      refusedEvent('op-7', 'bank-login'),
    ]);
    expect(eventsOf(strictEvents, 'identity.moved', about(keptIdentity))).toEqual([]);
    expect(eventsOf(openEvents, 'identity.moved', about(movedIdentity))).toEqual([
      movedEvent(movedIdentity, 'op-9', 'm-5008'),
    ]);
  });

  it('erasing the user an identity moved from removes the undelivered identity.moved that names them', async () => {
    const phone = randomNumber();
    const identity = `sms:${phone}`;
    const chat = h.sms(phone);
    await byPassword(chat, '5009');
    await queuesIdle(h);
    // The receiver refuses the move's event: it waits in the queue for its next try.
    openEvents.respondWith((_attempt, d) =>
      d.event?.type === 'identity.moved' && about(identity)(d.event) ? 500 : 200,
    );
    try {
      await byPin(chat, '5010');
      const events = new Queue(EVENTS_QUEUE, {
        connection: h.redis,
        prefix: new IdentityKeys(h.keys).eventsQueuePrefix(),
      });
      try {
        const refused = await eventually(() => {
          const tried = openEvents.deliveries.find(
            (d) => d.event?.type === 'identity.moved' && about(identity)(d.event),
          );
          return tried ? String(tried.event!.id) : undefined;
        }, 'the move event tried once');
        await eventually(
          async () => ((await (await events.getJob(refused))?.getState()) === 'delayed' ? true : undefined),
          'the move event waiting for its retry',
        );
        const logged = h.logs.find('operator events of an erased user removed').length;
        expect((await api('DELETE', '/v1/users/m-5009', OPEN_KEY)).status).toBe(204);
        expect(h.logs.find('operator events of an erased user removed').slice(logged)).toEqual([
          expect.objectContaining({ workspace: 'open', removed: 1, voided: 0 }),
        ]);
        expect(await events.getJob(refused)).toBeUndefined();
      } finally {
        await events.close();
      }
    } finally {
      openEvents.respondWith(() => 200);
    }
    // The user the identity moved to is untouched.
    expect(await userView(OPEN_KEY, 'm-5010')).toEqual({
      identities: [`${identity} (auth)`],
      tokens: ['member-pin'],
    });
  });

  it('a redeemed link code moves the identity (via link), also where logins may not', async () => {
    const phone = randomNumber();
    const identity = `sms:${phone}`;
    const chat = h.sms(phone, STRICT_SMS);
    await byPassword(chat, '5011');
    const created = await api('POST', '/v1/link-codes', STRICT_KEY, { userId: 'web-1', name: 'Li Lei' });
    expect(created.status).toBe(201);
    const { code } = created.json as { code: string };
    expect(await chat.send(`LINK ${code}`)).toEqual([
      'Thanks, your account is linked. You are Li Lei (verified).',
    ]);
    expect(await userView(STRICT_KEY, 'web-1')).toEqual({ identities: [`${identity} (link)`], tokens: [] });
    expect(await userView(STRICT_KEY, 'm-5011')).toEqual({ identities: [], tokens: ['bank-login'] });
    await queuesIdle(h);
    expect(eventsOf(strictEvents, 'identity.moved', about(identity))).toEqual([
      {
        ...EVENT,
        type: 'identity.moved',
        workspace: 'strict',
        userId: 'web-1',
        data: { identity, from: 'm-5011', to: 'web-1', via: 'link' },
      },
    ]);
  });
});
