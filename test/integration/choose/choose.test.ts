// `choose` on every channel: WhatsApp buttons and list pickers through the Content API (created once,
// reused), the numbered list on SMS (a number or a title), "Press N for …" on a call, the retry text, and
// the numbered list when the Content API fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SID, NUMBERS } from '../../support/config.js';
import {
  botOn,
  gather,
  HANGUP,
  say,
  startDialogHarness,
  twiml,
  type DialogHarness,
} from '../dialog/helpers.js';

const LIST_WHATSAPP = '+15005550021';
const FALLBACK_WHATSAPP = '+15005550022';

const ACCOUNTS = `    flows:
      main:
        - choose:
            prompt: "Which account?"
            options:
              - { id: checking, title: Checking }
              - { id: savings, title: Savings }
            save: account
        - end: "You picked {{account}}."`;

const BRANCHES = `    flows:
      main:
        - choose:
            prompt: "Which branch?"
            options:
              - { id: north, title: North, description: "12 High Street" }
              - { id: south, title: South }
              - { id: east, title: "East of the river, by the old station" }
              - { id: west, title: West }
            save: branch
            retry: "Pick one of the four branches."
            retries: 1
            invalid: "No branch then. Goodbye."
        - end: "Branch {{branch}}."`;

const FALLBACK = `    flows:
      main:
        - choose:
            prompt: "Tea or coffee?"
            options:
              - { id: tea, title: Tea }
              - { id: coffee, title: Coffee }
            save: drink
        - end: "One {{drink}} coming."`;

const BOTS = [
  botOn('accounts', ACCOUNTS),
  botOn('branches', BRANCHES, { whatsapp: LIST_WHATSAPP }),
  botOn('drinks', FALLBACK, { whatsapp: FALLBACK_WHATSAPP }),
].join('\n');

const NUMBERED = 'Which account?\n1. Checking\n2. Savings';

let h: DialogHarness;
beforeAll(async () => {
  h = await startDialogHarness({ bots: BOTS, label: 'choose' });
});
afterAll(async () => {
  await h?.close();
});

/** Content creations whose quick-reply or list body is `prompt`. */
function contentsFor(prompt: string) {
  return h.twilio.contents.filter((c) => {
    const types = c.request.types as Record<string, { body?: string }>;
    return Object.values(types).some((t) => t.body === prompt);
  });
}

describe('choose on WhatsApp', () => {
  it('sends quick-reply buttons by a content SID created once, and a tapped button answers', async () => {
    const before = h.twilio.contentRequests.length;
    const c = h.whatsapp();
    const [sent] = await c.send('hi');
    const created = contentsFor('Which account?');
    expect(created).toHaveLength(1);
    expect(h.twilio.contentRequests.length - before).toBe(1);
    const { sid } = created[0]!;
    expect(sent).toBe(`[template ${sid}]`);
    expect(h.twilio.messagesTo(c.address)[0]!.params).toEqual({
      To: c.address,
      From: `whatsapp:${NUMBERS.whatsapp}`,
      ContentSid: sid,
    });
    expect(created[0]!.authAccount).toBe(ACCOUNT_SID);
    expect(created[0]!.request).toEqual({
      friendly_name: expect.stringMatching(/^switchboard_choose_[0-9a-f]{16}$/),
      language: 'en',
      types: {
        'twilio/quick-reply': {
          body: 'Which account?',
          actions: [
            { title: 'Checking', id: 'checking' },
            { title: 'Savings', id: 'savings' },
          ],
        },
        'twilio/text': { body: NUMBERED },
      },
    });
    // The SID is kept in Redis under the content's keyed name.
    expect(await h.redis.get(h.keys.contentSid(ACCOUNT_SID, JSON.stringify(created[0]!.request.types)))).toBe(
      sid,
    );

    expect(
      await c.send('Savings', { MessageType: 'button', ButtonText: 'Savings', ButtonPayload: 'savings' }),
    ).toEqual(['You picked savings.']);

    // The second time the question is asked, the same resource is sent: no second creation.
    const d = h.whatsapp();
    expect(await d.send('hello')).toEqual([`[template ${sid}]`]);
    expect(h.twilio.contentRequests.length - before).toBe(1);
    expect(
      await d.send('Checking', { MessageType: 'button', ButtonText: 'Checking', ButtonPayload: 'checking' }),
    ).toEqual(['You picked checking.']);
  });

  it('sends a list picker for four options, cut to WhatsApp lengths, and a picked item (ListId) answers', async () => {
    const c = h.whatsapp(undefined, LIST_WHATSAPP);
    const [sent] = await c.send('hi');
    const created = contentsFor('Which branch?');
    expect(created).toHaveLength(1);
    expect(sent).toBe(`[template ${created[0]!.sid}]`);
    expect(created[0]!.request.types).toEqual({
      'twilio/list-picker': {
        body: 'Which branch?',
        button: 'Choose',
        items: [
          { item: 'North', id: 'north', description: '12 High Street' },
          { item: 'South', id: 'south' },
          { item: 'East of the river, by…', id: 'east' },
          { item: 'West', id: 'west' },
        ],
      },
      'twilio/text': {
        body: 'Which branch?\n1. North (12 High Street)\n2. South\n3. East of the river, by the old station\n4. West',
      },
    });
    expect(
      await c.send('East of the river, by…', {
        MessageType: 'interactive',
        ListId: 'east',
        ListTitle: 'East of the river, by…',
      }),
    ).toEqual(['Branch east.']);
  });

  it('says the retry text and asks again after an answer that is not an option; then gives up', async () => {
    const c = h.whatsapp(undefined, LIST_WHATSAPP);
    const [prompt] = await c.send('hi');
    expect(await c.send('Downtown')).toEqual(['Pick one of the four branches.', prompt]);
    expect(await c.send('9')).toEqual(['No branch then. Goodbye.']);
  });

  it('sends the numbered list as text when the Content API fails, and a typed title answers', async () => {
    h.twilio.failNextContent({ status: 500 });
    const c = h.whatsapp(undefined, FALLBACK_WHATSAPP);
    expect(await c.send('hi')).toEqual(['Tea or coffee?\n1. Tea\n2. Coffee']);
    expect(contentsFor('Tea or coffee?')).toEqual([]);
    expect(
      h.logs.lines.filter((l) => l.message.startsWith('could not create WhatsApp content for a choice')),
    ).toEqual([expect.objectContaining({ level: 'warn', bot: 'drinks', reason: expect.any(String) })]);
    expect(await c.send('  COFFEE ')).toEqual(['One coffee coming.']);
  });
});

describe('choose on WhatsApp, when Twilio no longer knows the cached content', () => {
  it('sends the numbered list, forgets the SID, and creates the content again for the next prompt', async () => {
    const c = h.whatsapp();
    const [first] = await c.send('hi'); // the SID is cached by now (by this test or the ones above)
    const cached = contentsFor('Which account?').at(-1)!;
    expect(first).toBe(`[template ${cached.sid}]`);
    const key = h.keys.contentSid(ACCOUNT_SID, JSON.stringify(cached.request.types));
    expect(await h.redis.get(key)).toBe(cached.sid);

    // Deleted at Twilio since: the send by its SID is refused with 21655.
    h.twilio.failNext({ status: 400, code: 21655, message: 'The Content SID is invalid.' });
    const d = h.whatsapp();
    expect(await d.send('hi')).toEqual([NUMBERED]);
    expect(await h.redis.exists(key)).toBe(0);
    expect(await d.send('1')).toEqual(['You picked checking.']);

    const e = h.whatsapp();
    const before = contentsFor('Which account?').length;
    const [again] = await e.send('hi');
    const recreated = contentsFor('Which account?');
    expect(recreated).toHaveLength(before + 1);
    expect(again).toBe(`[template ${recreated.at(-1)!.sid}]`);
    expect(await h.redis.get(key)).toBe(recreated.at(-1)!.sid);
  });
});

describe('choose on SMS', () => {
  it('sends the numbered list; the number answers', async () => {
    const c = h.sms();
    expect(await c.send('hi')).toEqual([NUMBERED]);
    expect(await c.send('2')).toEqual(['You picked savings.']);
  });

  it('the title answers, whatever its case and spacing', async () => {
    const c = h.sms();
    expect(await c.send('hi')).toEqual([NUMBERED]);
    expect(await c.send(' savings ')).toEqual(['You picked savings.']);
  });

  it('says the default retry text and asks again after a number that is not an option', async () => {
    const c = h.sms();
    await c.send('hi');
    expect(await c.send('3')).toEqual(["That's not one of the options.", NUMBERED]);
    expect(await c.send('Savings')).toEqual(['You picked savings.']);
  });
});

describe('choose on a call', () => {
  it('asks "Press N for …" on a one-digit Gather; the key answers', async () => {
    const call = h.call();
    expect(await call.start()).toBe(
      twiml(
        gather(1, 'Which account? Press 1 for Checking. Press 2 for Savings.', {
          keypad: false,
          digits: 1,
        }),
      ),
    );
    expect(await call.press('2')).toBe(twiml(say('You picked savings.'), HANGUP));
  });

  it('a key that is not an option is told so and asked again', async () => {
    const call = h.call();
    await call.start();
    expect(await call.press('7')).toBe(
      twiml(
        say("That's not one of the options."),
        gather(2, 'Which account? Press 1 for Checking. Press 2 for Savings.', {
          keypad: false,
          digits: 1,
        }),
      ),
    );
    expect(await call.speak('Checking')).toBe(twiml(say('You picked checking.'), HANGUP));
  });
});
