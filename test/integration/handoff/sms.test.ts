// Handoff on SMS through the real gateway: the bot falls silent, the user's messages reach the operator as
// events, the agent's replies reach the user through the fake Twilio API, resume (or the idle timeout) gives
// the bot back, and GET /v1/conversations?state=handoff lists exactly the conversations a person has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../support/clock.js';
import { startEventReceiver, type FakeEventReceiver } from '../../fakes/event-receiver.js';
import { botOn, NUMBERS, startDialogHarness, type DialogHarness, type TextChat } from '../dialog/helpers.js';
import { api, API_KEY } from '../live-state/helpers.js';
import { jsonRequest } from '../../support/json-api.js';

const SECRET = 'handoff-events-secret';
const OTHER_KEY = 'other-workspace-key-0123456789abcdef012345';
const DESK = botOn(
  'desk',
  `    sessionTimeout: 600
    flows:
      main:
        - ask: { prompt: "Your PIN?", save: pin, secret: true }
        - ask: { prompt: "Say AGENT for a person.", save: first }
        - handoff: { idleTimeout: 300 }
        - ask: { prompt: "The bot is back. Anything else?", save: second }
        - end: "Bye."
      survey:
        - end: "Rate us 1 to 5 some day."`,
  { sms: NUMBERS.sms, whatsapp: NUMBERS.whatsapp },
);

const WA_NUMBER = '+15005550030';
const WA_DESK = botOn(
  'wadesk',
  `    flows:
      main:
        - ask: { prompt: "Reply AGENT for a person.", save: first }
        - handoff: { idleTimeout: 100000, message: "Sam will write here." }
        - end: "Bye."`,
  { whatsapp: WA_NUMBER },
);

const clock = manualClock();
let h: DialogHarness;
let receiver: FakeEventReceiver;

beforeAll(async () => {
  receiver = await startEventReceiver(SECRET);
  h = await startDialogHarness({
    bots: `${DESK}\n${WA_DESK}`,
    label: 'handoff-sms',
    clock,
    allowHosts: ['127.0.0.1'],
    adjust: (config) => {
      const test = config.workspaces.test!;
      test.events = { url: receiver.url, secret: SECRET };
      // Another workspace, to hold the test's conversations out of its reach.
      config.workspaces.other = { ...test, apiKeys: [OTHER_KEY], events: undefined };
    },
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

type Received = { type: string; data: Record<string, unknown> };

/** The operator events of one type received so far for the chat's conversation, waiting for `count`. */
async function eventsOf(type: string, count: number): Promise<Received[]> {
  for (;;) {
    const found = receiver
      .accepted()
      .map((d) => d.event as unknown as Received)
      .filter((e) => e.type === type);
    if (found.length >= count) return found;
    await receiver.waitForAccepted(receiver.accepted().length + 1);
  }
}

/** A chat the bot handed to a person: PIN (secret), then AGENT. */
async function handOff(chat: TextChat): Promise<string> {
  clock.advance(1000);
  expect(await chat.send('hello')).toEqual(['Your PIN?']);
  expect(await chat.send('4321')).toEqual(['Say AGENT for a person.']);
  expect(await chat.send('AGENT')).toEqual(['A person will reply here soon.']);
  return h.cid('desk', chat.identity);
}

/** Posts to one of the handoff endpoints, waits for the turn and for its replies at the fake Twilio API. */
async function operator(chat: TextChat, path: string, body?: unknown): Promise<string[]> {
  const cid = h.cid('desk', chat.identity);
  const before = h.twilio.messagesTo(chat.address).length;
  const answer = await api(h, 'POST', `/v1/conversations/${cid}/${path}`, body);
  expect(answer.status, answer.text).toBe(202);
  const queued = answer.json as { conversation: string; id: string; queued: string };
  expect(queued).toEqual({ conversation: cid, id: queued.id, queued: 'inbox' });
  const handled = await h.handled(queued.id);
  const sent = await h.twilio.waitForMessages(chat.address, before + Number(handled.replies));
  return sent.slice(before).map((m) => m.body ?? '');
}

describe('handoff on SMS', () => {
  it('stops the bot, passes the user on, delivers the agent, and resume gives the bot back', async () => {
    const chat = h.sms();
    const cid = await handOff(chat);

    const [handoff] = await eventsOf('conversation.handoff', 1);
    const history = JSON.parse(String(handoff!.data.history)) as { direction: string; text: string }[];
    expect(history.map((l) => [l.direction, l.text])).toEqual([
      ['in', 'hello'],
      ['out', 'Your PIN?'],
      ['in', '[redacted]'],
      ['out', 'Say AGENT for a person.'],
      ['in', 'AGENT'],
      ['out', 'A person will reply here soon.'],
    ]);
    // Event ids are random hex, which can hold any four digits: they are left out of the search.
    const bodies = receiver.deliveries.map((d) => d.body.replaceAll(/evt_[0-9a-f]{32}/g, 'evt_'));
    expect(JSON.stringify(bodies)).not.toContain('4321');

    // The bot does not answer; the message reaches the operator.
    const before = h.twilio.messagesTo(chat.address).length;
    expect(await chat.send('Where is my parcel?')).toEqual([]);
    expect(await chat.send('HELP')).toEqual([]);
    expect(h.twilio.messagesTo(chat.address)).toHaveLength(before);
    const messages = await eventsOf('conversation.message', 2);
    expect(messages.map((m) => m.data.text)).toEqual(['Where is my parcel?', 'HELP']);
    const userId = (handoff as unknown as { userId: string }).userId;
    expect(userId).toMatch(/^anon:/);
    expect(messages.map((m) => (m as unknown as { userId: string }).userId)).toEqual([userId, userId]);

    expect(await operator(chat, 'messages', { text: 'Hi, this is Sam. Your parcel left today.' })).toEqual([
      'Hi, this is Sam. Your parcel left today.',
    ]);
    expect(await operator(chat, 'resume')).toEqual(['The bot is back. Anything else?']);
    // Given back: the agent can no longer write.
    const late = await api(h, 'POST', `/v1/conversations/${cid}/messages`, { text: 'one more thing' });
    expect(late.status).toBe(409);
    expect(late.json).toMatchObject({ error: { code: 'not_handed_off' } });
    expect(await chat.send('no thanks')).toEqual(['Bye.']);
    const [resumed] = await eventsOf('conversation.resumed', 1);
    expect(resumed!.data).toEqual({ bot: 'desk', reason: 'operator', flow: 'main' });
  });

  it('an agent’s message queued behind the user’s waits its turn: the history keeps their order', async () => {
    const handoffs = (await eventsOf('conversation.handoff', 1)).length;
    const chat = h.sms();
    const cid = await handOff(chat);
    const userId = (
      (await eventsOf('conversation.handoff', handoffs + 1)).at(-1) as unknown as { userId: string }
    ).userId;
    const sid = 'SM' + 'f'.repeat(32);
    expect((await chat.post('Is anyone there?', { MessageSid: sid })).status).toBe(200);
    const agent = await api(h, 'POST', `/v1/conversations/${cid}/messages`, { text: 'Yes, Sam here.' });
    await h.handled((agent.json as { id: string }).id);
    await h.handled(sid);
    const history = await api(h, 'GET', `/v1/users/${encodeURIComponent(userId)}/history`);
    const lines = (history.json as { entries: { direction: string; text: string }[] }).entries;
    expect(lines.slice(-2).map((l) => [l.direction, l.text])).toEqual([
      ['in', 'Is anyone there?'],
      ['out', 'Yes, Sam here.'],
    ]);
  });

  it('resume may name a flow', async () => {
    const chat = h.sms();
    await handOff(chat);
    expect(await operator(chat, 'resume', { flow: 'survey' })).toEqual(['Rate us 1 to 5 some day.']);
  });

  it('STOP during a handoff still opts out', async () => {
    const chat = h.sms();
    const cid = await handOff(chat);
    expect(await chat.send('STOP')).toEqual(["You won't get more messages. Reply START to come back."]);
    expect(await h.redis.exists(h.keys.optOut(cid))).toBe(1);
    // The conversation is over (an opt-out ends it): there is nothing for an agent to write to.
    expect((await api(h, 'POST', `/v1/conversations/${cid}/messages`, { text: 'hi' })).status).toBe(404);
  });

  it('the idle timeout gives the bot back: the next message starts at main', async () => {
    const chat = h.sms();
    const cid = await handOff(chat);
    clock.advance(299_000);
    expect(await chat.send('still there?')).toEqual([]); // inside the timeout: it starts again from here
    clock.advance(300_000);
    expect((await api(h, 'POST', `/v1/conversations/${cid}/messages`, { text: 'hi' })).status).toBe(409);
    expect(await chat.send('hello?')).toEqual(['Your PIN?']);
  });

  it('GET /v1/conversations?state=handoff lists exactly the handed-off conversations', async () => {
    clock.advance(3_600_000); // every earlier conversation is over
    const handed = h.sms();
    const cid = await handOff(handed);
    const other = h.sms();
    expect(await other.send('hi')).toEqual(['Your PIN?']);
    const listed = await api(h, 'GET', '/v1/conversations?state=handoff');
    expect(listed.status).toBe(200);
    const { conversations } = listed.json as { conversations: Record<string, unknown>[] };
    expect(conversations).toEqual([
      {
        id: cid,
        bot: 'desk',
        channel: 'sms',
        identity: { channel: 'sms', address: handed.from },
        state: 'handoff',
        flow: 'main',
        step: 2,
        waiting: 'handoff',
        updatedAt: new Date(clock.now()).toISOString(),
        expiresAt: new Date(clock.now() + 300_000).toISOString(),
      },
    ]);
  });
});

describe('handoff on WhatsApp', () => {
  it('the agent writes inside the 24-hour window of the user’s last message, and is refused outside it', async () => {
    const chat = h.whatsapp(undefined, WA_NUMBER);
    expect(await chat.send('hi')).toEqual(['Reply AGENT for a person.']);
    expect(await chat.send('AGENT')).toEqual(['Sam will write here.']);
    const cid = h.cid('wadesk', chat.identity);
    const url = `/v1/conversations/${cid}/messages`;
    const sent = await api(h, 'POST', url, { text: 'Hello from Sam.' });
    expect(sent.status).toBe(202);
    await h.handled((sent.json as { id: string }).id);
    const message = (await h.twilio.waitForMessages(chat.address, 3)).at(-1);
    expect(h.twilio.messagesTo(chat.address).map((m) => m.body)).toEqual([
      'Reply AGENT for a person.',
      'Sam will write here.',
      'Hello from Sam.',
    ]);
    expect(message?.from).toBe(`whatsapp:${WA_NUMBER}`);
    clock.advance(24 * 3_600_000 + 1000);
    const late = await api(h, 'POST', url, { text: 'Still there?' });
    expect(late.status).toBe(409);
    expect(late.json).toMatchObject({ error: { code: 'outside_window' } });
  });
});

describe('the handoff endpoints refuse bad input with a 4xx', () => {
  it('an unknown or another workspace’s conversation 404, not handed off 409, bad bodies 400/413/422', async () => {
    const chat = h.sms();
    const cid = await handOff(chat);
    const idle = h.sms();
    await idle.send('hi');
    const idleCid = h.cid('desk', idle.identity);
    for (const path of ['messages', 'resume']) {
      const url = (id: string) => `/v1/conversations/${id}/${path}`;
      const good = path === 'messages' ? { text: 'x' } : {};
      const unknown = await api(h, 'POST', url('nope'), good);
      expect([unknown.status, unknown.json]).toEqual([
        404,
        { error: { code: 'conversation_not_found', message: 'No such conversation in this workspace.' } },
      ]);
      expect((await api(h, 'POST', url('x'.repeat(5000)), good)).status).toBe(404);
      const notHanded = await api(h, 'POST', url(idleCid), good);
      expect(notHanded.status).toBe(409);
      const malformed = await jsonRequest(h.url, 'POST', url(cid), { key: API_KEY, body: '{"text": ' });
      expect(malformed.status).toBe(400);
      expect(malformed.json).toMatchObject({ error: { code: 'invalid_json' } });
      const huge = await api(h, 'POST', url(cid), { text: 'x'.repeat(2 * 1024 * 1024) });
      expect(huge.status).toBe(413);
      const wrongKey = await jsonRequest(h.url, 'POST', url(cid), { key: 'wrong', body: good });
      expect(wrongKey.status).toBe(401);
      const foreign = await jsonRequest(h.url, 'POST', url(cid), { key: OTHER_KEY, body: good });
      expect(foreign.status).toBe(404);
    }
    const url = `/v1/conversations/${cid}/messages`;
    for (const body of [
      {},
      { text: '' },
      { text: '   ' },
      { text: 'x'.repeat(1601) },
      { text: 5 },
      { text: 'x', y: 1 },
    ]) {
      const answer = await api(h, 'POST', url, body);
      expect(answer.status, JSON.stringify(body)).toBe(422);
      expect(answer.json).toMatchObject({ error: { code: 'validation_failed' } });
    }
    const flow = await api(h, 'POST', `/v1/conversations/${cid}/resume`, { flow: 'nowhere' });
    expect([flow.status, flow.json]).toEqual([
      404,
      { error: { code: 'flow_not_found', message: 'The bot "desk" has no flow "nowhere".' } },
    ]);
    expect((await api(h, 'POST', `/v1/conversations/${cid}/resume`, { flow: 5 })).status).toBe(422);
    // Still handed off after all that: nothing was queued.
    expect(await chat.send('anyone?')).toEqual([]);
  });
});
