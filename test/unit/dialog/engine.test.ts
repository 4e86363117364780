// The dialog engine on its own: turns over plain state with fake ports (no Redis, no HTTP).
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BotSchema, type BotConfig } from '../../../src/config/index.js';
import { DialogEngine } from '../../../src/core/dialog.js';
import { DialogError } from '../../../src/core/errors.js';
import type { Clock } from '../../../src/core/ports.js';
import { Templates } from '../../../src/core/templates.js';
import { OutboundNetworkError, OutboundRefusedError } from '../../../src/net/errors.js';
import { Conversation } from './support/conversation.js';
import { json, type Answer } from './support/fake-services.js';

const UNAVAILABLE = 'Sorry, that service is not available right now. Please try again later.';
/** The time is the real one; a retry's pause is recorded instead of waited for. */
const pauses: number[] = [];
const clock: Clock = { now: () => Date.now(), sleep: async (ms) => void pauses.push(ms) };
const engine = new DialogEngine({ templates: new Templates(), clock });

function bot(yaml: string): BotConfig {
  return BotSchema.parse({ workspace: 'w', ...(parse(yaml) as object) });
}

const MENU_BOT = bot(`
sessionTimeout: 600
help: "Help text."
flows:
  main:
    - say: "Hello, you wrote {{input}}."
    - ask: { prompt: "Pick 1 or 2.", save: pick, keypad: true, digits: 1, pattern: "^[12]$" }
    - switch: { value: "{{pick}}", cases: { "1": one, "2": two } }
  one:
    - ask: { prompt: "Your name?", save: name }
    - end: "Bye {{name}}."
  two:
    - say: "Two."
`);

describe('starting and ending', () => {
  it('the first message starts main; its text is {{input}} and does not answer the first ask', async () => {
    const c = new Conversation(engine, MENU_BOT);
    const first = await c.send('1');
    expect(first.output).toEqual({
      replies: [
        { text: 'Hello, you wrote 1.' },
        { text: 'Pick 1 or 2.', ask: { keypad: true, secret: false, digits: 1 } },
      ],
      hangup: false,
    });
    expect(first.state).toEqual({
      flow: 'main',
      step: 1,
      vars: { input: '1' },
      pending: { kind: 'ask', misses: 0 },
      expiresAt: c.now + 600_000,
    });
    expect(c.services.events.map((e) => e.type)).toEqual(['conversation.started']);
  });

  it('a flow that runs out of steps ends the conversation (a call hangs up)', async () => {
    const c = new Conversation(engine, MENU_BOT);
    await c.send('hi');
    const result = await c.send('2');
    expect(result.output).toEqual({ replies: [{ text: 'Two.' }], hangup: true });
    expect(result.state).toBeNull();
    expect(c.services.events.map((e) => e.type)).toEqual(['conversation.started', 'conversation.ended']);
    // The next message is a new conversation.
    expect(await c.say('again')).toEqual(['Hello, you wrote again.', 'Pick 1 or 2.']);
  });

  it('end without text ends silently (a call hangs up)', async () => {
    const b = bot(`
flows:
  main:
    - say: "Closing."
    - end:
    - say: "Never said."
`);
    const result = await new Conversation(engine, b, 'voice').send('');
    expect(result.output).toEqual({ replies: [{ text: 'Closing.' }], hangup: true });
    expect(result.state).toBeNull();
  });

  it('a state past its expiry starts over at main, its variables forgotten', async () => {
    const c = new Conversation(engine, MENU_BOT);
    await c.send('hi');
    await c.send('1');
    expect(c.state).toMatchObject({ flow: 'one', vars: { pick: '1' } });
    c.now = c.state!.expiresAt; // exactly at the expiry: expired
    expect(await c.say('Ada')).toEqual(['Hello, you wrote Ada.', 'Pick 1 or 2.']);
    expect(c.state).toMatchObject({ flow: 'main', step: 1, vars: { input: 'Ada' } });
  });

  it('one millisecond before the expiry the answer is still taken', async () => {
    const c = new Conversation(engine, MENU_BOT);
    await c.send('hi');
    await c.send('1');
    c.now = c.state!.expiresAt - 1;
    expect(await c.say('Ada')).toEqual(['Bye Ada.']);
  });
});

describe('ask', () => {
  it('keypad, digits and pattern are all checked; the answer is trimmed', async () => {
    const c = new Conversation(engine, MENU_BOT);
    await c.send('hi');
    expect(await c.say('one')).toEqual(["Sorry, that doesn't look right.", 'Pick 1 or 2.']); // keypad: digits only
    expect(c.state!.pending).toEqual({ kind: 'ask', misses: 1 });
    expect(await c.say(' 1 ')).toEqual(['Your name?']);
    expect(c.state!.vars.pick).toBe('1');
  });

  it('after `retries` (default 2) invalid answers the invalid text (default) ends the flow', async () => {
    const c = new Conversation(engine, MENU_BOT);
    await c.send('hi');
    expect(await c.say('3')).toEqual(["Sorry, that doesn't look right.", 'Pick 1 or 2.']); // pattern
    expect(await c.say('12')).toEqual(["Sorry, that doesn't look right.", 'Pick 1 or 2.']); // digits
    const last = await c.send('x');
    expect(last.output).toEqual({
      replies: [{ text: "Sorry, I didn't understand. Goodbye." }],
      hangup: true,
    });
    expect(last.state).toBeNull();
  });

  it('on voice: a secret is gathered from the keypad only, the answering turn carries a secret, silence is a miss', async () => {
    const voiceBot = bot(`
flows:
  main:
    - ask: { prompt: "Your PIN?", save: pin, secret: true, retries: 1, timeout: 9 }
    - ask: { prompt: "Your town?", save: town }
    - end: "Thanks."
`);
    const c = new Conversation(engine, voiceBot, 'voice');
    const start = await c.send('');
    expect(start.output.replies).toEqual([
      { text: 'Your PIN?', ask: { keypad: true, secret: true, timeout: 9 } },
    ]);
    const silent = await c.send('');
    expect(silent.output.replies).toEqual(start.output.replies);
    expect(silent.carriedSecret).toBe(true);
    const answered = await c.send('4321');
    expect(answered.carriedSecret).toBe(true);
    expect(answered.output.replies).toEqual([{ text: 'Your town?', ask: { keypad: false, secret: false } }]);
    const town = await c.send('Leeds');
    expect(town.carriedSecret).toBe(false);
    expect(town.output).toEqual({ replies: [{ text: 'Thanks.' }], hangup: true });
  });
});

describe('switch, set, goto', () => {
  it('cases are matched as own keys only: "constructor" and "__proto__" go to the default', async () => {
    const b = bot(`
flows:
  main:
    - ask: { prompt: "Word?", save: word }
    - switch: { value: "{{word}}", cases: { a: fa }, default: other }
  fa: [{ end: "A." }]
  other: [{ end: "Other {{word}}." }]
`);
    for (const word of ['constructor', '__proto__', 'toString', 'A']) {
      const c = new Conversation(engine, b);
      await c.send('hi');
      expect(await c.say(word)).toEqual([`Other ${word}.`]);
    }
  });

  it('set renders in order, each value seeing the ones before', async () => {
    const b = bot(`
flows:
  main:
    - set: { a: "x{{input}}", b: "{{a}}-{{a}}" }
    - end: "{{b}}"
`);
    expect(await new Conversation(engine, b).say('1')).toEqual(['x1-x1']);
  });

  it('a goto loop that never waits is a DialogError (a bug in the flows, not retried)', async () => {
    const b = bot(`
flows:
  main: [{ goto: other }]
  other: [{ set: { n: "1" } }, { goto: main }]
`);
    await expect(new Conversation(engine, b).send('hi')).rejects.toThrow(DialogError);
  });
});

describe('keywords', () => {
  it('STOP opts out, confirms and ends; while opted out only HELP is answered; START opts back in', async () => {
    const c = new Conversation(engine, MENU_BOT);
    await c.send('hi');
    const stop = await c.send('stop');
    expect(stop).toMatchObject({
      state: null,
      output: { replies: [{ text: "You won't get more messages. Reply START to come back." }], hangup: true },
      optOut: true,
    });
    expect(c.services.events.map((e) => e.type)).toContain('user.opted_out');
    for (const text of ['hi', 'MENU', '1']) {
      const quiet = await c.send(text);
      expect(quiet.output.replies).toEqual([]);
      expect(quiet.optOut).toBeUndefined();
    }
    expect((await c.send('HELP')).output.replies).toEqual([{ text: 'Help text.' }]);
    const start = await c.send('START');
    expect(start.output.replies).toEqual([{ text: 'You are subscribed again. Reply HELP for help.' }]);
    expect(start.optOut).toBe(false);
    expect(c.services.events.map((e) => e.type)).toContain('user.opted_in');
  });

  it('HELP repeats the pending question and keeps its misses; MENU starts main afresh', async () => {
    const c = new Conversation(engine, MENU_BOT);
    await c.send('hi');
    await c.send('x');
    expect(await c.say('help')).toEqual(['Help text.', 'Pick 1 or 2.']);
    expect(c.state!.pending).toEqual({ kind: 'ask', misses: 1 });
    await c.send('1');
    expect(await c.say('menu')).toEqual(['Hello, you wrote menu.', 'Pick 1 or 2.']);
    expect(c.state).toMatchObject({ flow: 'main', step: 1, vars: { input: 'menu' } });
  });
});

const SECRET_BOT = bot(`
sessionTimeout: 600
help: "Help text."
flows:
  main:
    - say: "Hello, you wrote {{input}}."
    - ask: { prompt: "Your PIN?", save: pin, secret: true }
    - end: "Done."
`);

describe('at a secret prompt', () => {
  it('after the expiry the answer is still a secret: not rendered, not kept; the conversation starts over', async () => {
    const c = new Conversation(engine, SECRET_BOT);
    await c.send('hi');
    c.now = c.state!.expiresAt + 3_600_000;
    const late = await c.send('4821');
    expect(late.carriedSecret).toBe(true);
    expect(late.output.replies.map((r) => r.text)).toEqual(['Hello, you wrote .', 'Your PIN?']);
    expect(c.state).toMatchObject({ flow: 'main', step: 1, vars: { input: '' } });
  });

  it('a keyword keeps its meaning, but its message is a secret; STOP still opts out', async () => {
    const c = new Conversation(engine, SECRET_BOT);
    await c.send('hi');
    const help = await c.send('HELP');
    expect(help).toMatchObject({
      carriedSecret: true,
      output: { replies: [{ text: 'Help text.' }, { text: 'Your PIN?' }] },
    });
    const menu = await c.send('MENU');
    expect(menu.carriedSecret).toBe(true);
    expect(c.state).toMatchObject({ flow: 'main', step: 1, vars: { input: '' } });
    expect(await c.send('STOP')).toMatchObject({ state: null, optOut: true, carriedSecret: true });
  });

  it('a message at an ordinary prompt, or after the answer, is not a secret', async () => {
    const c = new Conversation(engine, SECRET_BOT);
    expect((await c.send('hi')).carriedSecret).toBe(false);
    expect(await c.send('4821')).toMatchObject({
      carriedSecret: true,
      output: { replies: [{ text: 'Done.' }] },
    });
    expect((await c.send('HELP')).carriedSecret).toBe(false);
  });
});

describe('profile', () => {
  const profileBot = bot(`
flows:
  main:
    - profile: { name: "Your name, please?", email: true }
    - end: "Thanks {{name}} <{{email}}>."
`);

  it('saves the name, then the email (a bad one re-asked), through the profile port', async () => {
    const c = new Conversation(engine, profileBot);
    expect(await c.say('hi')).toEqual(['Your name, please?']);
    expect(await c.say('Ada')).toEqual(['What is your email address?']);
    expect(await c.say('ada at example')).toEqual([
      "That doesn't look like an email address.",
      'What is your email address?',
    ]);
    expect(await c.say('ada@example.com')).toEqual(['Thanks Ada <ada@example.com>.']);
    expect(c.services.profiles).toEqual([{ name: 'Ada' }, { email: 'ada@example.com' }]);
  });
});

describe('request', () => {
  const requestBot = (request: string) =>
    bot(`
flows:
  main:
    - ask: { prompt: "Go?", save: word }
    - request: ${request}
    - end: "Got [{{value}}]."
  rescue:
    - end: "Rescued."
`);

  async function run(request: string, answers: Answer[], word = 'go') {
    const c = new Conversation(engine, requestBot(request));
    c.services.answers.push(...answers);
    await c.send('hi');
    return { c, replies: await c.say(word) };
  }

  it('GET is retried on 5xx and on network errors, up to `retry` times', async () => {
    pauses.length = 0;
    const { c, replies } = await run(
      '{ method: GET, url: "https://api.example/v/{{word}}", retry: 3, save: { value: "a.b[1]" } }',
      [
        json(503, {}),
        new OutboundNetworkError('api.example', 'ECONNRESET'),
        json(502, {}),
        json(200, { a: { b: [1, 'two'] } }),
      ],
    );
    expect(replies).toEqual(['Got [two].']);
    expect(c.services.calls).toHaveLength(4);
    // Told once, after the retries: the step's place, the host, the last status.
    expect(c.services.requestOutcomes).toEqual([
      { flow: 'main', step: 1, host: 'api.example', status: 200, reason: 'ok' },
    ]);
    expect(pauses).toEqual([200, 400, 600]); // through the clock port, longer each time
    expect(c.services.calls[0]).toEqual({
      method: 'GET',
      url: 'https://api.example/v/go',
      headers: {},
      timeoutMs: 10_000,
    });
  });

  it('GET stops after 1 + retry calls; the flow ends with the clean error', async () => {
    const { c, replies } = await run('{ method: GET, url: "https://api.example/v", retry: 1 }', [
      json(503, {}),
      json(503, {}),
      json(200, {}),
    ]);
    expect(replies).toEqual([UNAVAILABLE]);
    expect(c.services.calls).toHaveLength(2);
    expect(c.state).toBeNull();
    expect(c.services.requestOutcomes).toEqual([
      { flow: 'main', step: 1, host: 'api.example', status: 503, reason: 'status' },
    ]);
  });

  it('POST is sent once, whatever the answer; the body is built as data with its timeout', async () => {
    const { c, replies } = await run(
      '{ method: POST, url: "https://api.example/v", timeout: 2.5, body: { w: "{{word}}", n: 3 } }',
      [json(503, {})],
    );
    expect(replies).toEqual([UNAVAILABLE]);
    expect(c.services.calls).toEqual([
      { method: 'POST', url: 'https://api.example/v', headers: {}, timeoutMs: 2500, body: { w: 'go', n: 3 } },
    ]);
  });

  it('a 4xx is not retried and goes to onError', async () => {
    const { c, replies } = await run(
      '{ method: GET, url: "https://api.example/v", retry: 2, onError: rescue }',
      [json(404, {})],
    );
    expect(replies).toEqual(['Rescued.']);
    expect(c.services.calls).toHaveLength(1);
    // Where the request was, not the onError flow it jumped to.
    expect(c.services.requestOutcomes).toEqual([
      { flow: 'main', step: 1, host: 'api.example', status: 404, reason: 'status' },
    ]);
  });

  it('a refused call is not retried and is reported to the operator', async () => {
    const { c, replies } = await run('{ method: GET, url: "https://api.example/v", retry: 2 }', [
      new OutboundRefusedError('api.example', 'loopback address (not listed in allowHosts)'),
    ]);
    expect(replies).toEqual([UNAVAILABLE]);
    expect(c.services.calls).toHaveLength(1);
    expect(c.services.requestOutcomes).toEqual([
      { flow: 'main', step: 1, host: 'api.example', reason: 'refused' },
    ]);
    expect(c.services.reports).toEqual([
      'request refused: outbound call to api.example refused: loopback address (not listed in allowHosts)',
    ]);
  });

  it('a value that renders a ".." path segment is refused before any call, like a bad host', async () => {
    const { c, replies } = await run(
      '{ method: GET, url: "https://api.example/v/{{word}}/x", onError: rescue }',
      [],
      '..',
    );
    expect(replies).toEqual(['Rescued.']);
    expect(c.services.calls).toEqual([]);
    expect(c.services.reports).toHaveLength(1);
    expect(c.services.reports[0]).toMatch(/^request refused: /);
  });

  it('a path missing from the answer saves an empty value', async () => {
    const { replies } = await run(
      '{ method: GET, url: "https://api.example/v", save: { value: "no.such[3]" } }',
      [json(200, { no: {} })],
    );
    expect(replies).toEqual(['Got [].']);
  });
});
