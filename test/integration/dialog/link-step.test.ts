// The `link` step: a caller keys a link code on the keypad, a texter types it; both become verified.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT } from '../../../src/core/dialog.js';
import { botYaml, configVariables, NUMBERS } from '../../support/config.js';
import { gather, HANGUP, say, startDialogHarness, twiml, type DialogHarness } from './helpers.js';

const BOT = botYaml(
  'linker',
  `    flows:
      main:
        - say: "Welcome."
        - link: { prompt: "Enter the code from our website.", retries: 1, invalid: "No link, then." }
        - say: "Tier: {{user.tier}}."
        - end: "Goodbye."`,
  { sms: NUMBERS.sms, voice: NUMBERS.voice },
);

let h: DialogHarness;
beforeAll(async () => {
  h = await startDialogHarness({ bots: BOT, label: 'link-step' });
});
afterAll(async () => {
  await h?.close();
});

async function linkCode(userId: string, name: string, keypad = false): Promise<string> {
  const res = await fetch(`${h.url}/v1/link-codes`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${configVariables().TEST_API_KEY}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ userId, name, ...(keypad ? { keypad } : {}) }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { code: string }).code;
}

describe('link step', () => {
  it('on voice: a keypad-only, secret Gather; the keyed code links the caller as the code says', async () => {
    const code = await linkCode('caller-1', 'Zhang San', true);
    expect(code).toMatch(/^\d{10}$/);
    const call = h.call();
    expect(await call.start()).toBe(
      twiml(say('Welcome.'), gather(1, 'Enter the code from our website.', { keypad: true })),
    );
    expect(await call.press(code)).toBe(
      twiml(
        say(TEXT.linked('You are Zhang San (verified).')),
        say('Tier: verified.'),
        say('Goodbye.'),
        HANGUP,
      ),
    );
  });

  it('on SMS: a wrong code is said so and asked again; after the retries the flow carries on unlinked', async () => {
    const chat = h.sms();
    expect(await chat.send('hello')).toEqual(['Welcome.', 'Enter the code from our website.']);
    expect(await chat.send('000000')).toEqual([TEXT.linkInvalid, 'Enter the code from our website.']);
    expect(await chat.send('111111')).toEqual(['No link, then.', 'Tier: anonymous.', 'Goodbye.']);
  });

  it('keeps the code out of the history the operator reads', async () => {
    const code = await linkCode('texter-2', 'Li Si');
    const chat = h.sms();
    await chat.send('hi');
    expect(await chat.send(code)).toEqual([
      TEXT.linked('You are Li Si (verified).'),
      'Tier: verified.',
      'Goodbye.',
    ]);
    const res = await fetch(`${h.url}/v1/users/texter-2/history`, {
      headers: { authorization: `Bearer ${configVariables().TEST_API_KEY}` },
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(code);
    expect(text).toContain('[redacted]');
  });
});
