// A channel from outside the registry (test/fakes/json-channel): registered by the gateway that is given it,
// it holds a whole conversation through the real queue and workers, and a repeated event is handled once.
import { afterEach, describe, expect, it } from 'vitest';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { jsonChannel, sign, SIGNATURE_HEADER } from '../../fakes/json-channel/json.adapter.js';
import { startJsonReceiver, type JsonReceiver } from '../../fakes/json-channel/receiver.js';

const SECRET = 'json-channel-test-secret';
const PROMPT = 'Hello! Reply 1 for opening hours or 2 for our address.';

const MENU_BOT = botYaml(
  'menu',
  `    flows:
      main:
        - ask:
            prompt: '${PROMPT}'
            save: choice
            pattern: '^[12]$'
            retries: 2
            invalid: 'Sorry, that is not on the menu.'
        - switch:
            value: '{{choice}}'
            cases: { '1': hours, '2': address }
      hours:
        - say: 'We are open from 9 to 5.'
      address:
        - say: 'We are at 1 Main Street.'`,
  {},
);

let h: Harness | undefined;
let other: Harness | undefined;
let receiver: JsonReceiver | undefined;

afterEach(async () => {
  await h?.close();
  await other?.close();
  await receiver?.close();
  h = other = receiver = undefined;
});

async function post(base: string, bot: string, message: object, signature?: string) {
  const body = JSON.stringify(message);
  const res = await fetch(`${base}/json/${bot}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature ?? sign(SECRET, body) },
    body,
  });
  return { status: res.status, text: await res.text() };
}

describe('a channel added from outside src/ and channels/', () => {
  it('holds a menu conversation through the queue and the workers, and handles a repeated event once', async () => {
    receiver = await startJsonReceiver();
    h = await startHarness({
      bots: MENU_BOT,
      label: 'json-channel',
      channels: [jsonChannel({ secret: SECRET, deliverTo: receiver.url })],
    });
    const base = h.main!.url!;

    expect((await post(base, 'menu', { id: 'e1', from: 'alice', text: 'hi' })).status).toBe(202);
    expect((await receiver.waitForTotal(1))[0]).toEqual({
      id: 'e1:0',
      bot: 'menu',
      to: 'alice',
      text: PROMPT,
    });

    // A forged event and one for a bot that does not exist change nothing.
    const forged = await post(base, 'menu', { id: 'e9', from: 'alice', text: '1' }, 'ab'.repeat(32));
    expect(forged).toEqual({ status: 403, text: 'Forbidden: signature does not match.' });
    expect((await post(base, 'nobody', { id: 'e8', from: 'alice', text: '1' })).status).toBe(404);

    // The same event twice: accepted both times, answered once.
    expect((await post(base, 'menu', { id: 'e2', from: 'alice', text: '2' })).status).toBe(202);
    expect((await post(base, 'menu', { id: 'e2', from: 'alice', text: '2' })).status).toBe(202);
    expect(h.main!.logs.lines.filter((l) => l.message === 'duplicate webhook ignored')).toMatchObject([
      { channel: 'json', event: 'e2' },
    ]);
    // The flow ended: the next message starts over. The inbox is ordered, so its answer comes after any of e2's.
    expect((await post(base, 'menu', { id: 'e3', from: 'alice', text: 'hello again' })).status).toBe(202);
    const replies = await receiver.waitForTotal(3);
    expect(replies.map((r) => [r.id, r.text])).toEqual([
      ['e1:0', PROMPT],
      ['e2:0', 'We are at 1 Main Street.'],
      ['e3:0', PROMPT],
    ]);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('is served only by the gateway it was given to', async () => {
    other = await startHarness({
      bots: MENU_BOT,
      label: 'json-channel-absent',
      gateway: { web: true, workers: false },
    });
    expect((await post(other.main!.url!, 'menu', { id: 'e1', from: 'alice', text: 'hi' })).status).toBe(404);
  });
});
