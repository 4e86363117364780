// The handoff step on its own: a text conversation goes silent for the bot, an agent's text and a resume
// come through the engine, the idle timeout gives the bot back; on a call the turn carries the transfer.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BotSchema, type BotConfig } from '../../../src/config/index.js';
import { DialogEngine } from '../../../src/core/dialog.js';
import type { Clock } from '../../../src/core/ports.js';
import { Templates } from '../../../src/core/templates.js';
import { Conversation } from './support/conversation.js';

const clock: Clock = { now: () => 0, sleep: async () => undefined };
const engine = new DialogEngine({ templates: new Templates(), clock });

function bot(yaml: string): BotConfig {
  return BotSchema.parse({ workspace: 'w', ...(parse(yaml) as object) });
}

const DESK = bot(`
sessionTimeout: 600
flows:
  main:
    - ask: { prompt: "Say AGENT for a person.", save: first }
    - handoff: { idleTimeout: 120, history: 5 }
    - ask: { prompt: "The bot is back. Anything else?", save: second }
    - end: "Bye."
  other:
    - end: "Other flow."
`);

const CALL = (target: string) =>
  bot(`
flows:
  main:
    - handoff: { message: "Connecting you.", ${target}, noAnswer: "Nobody is free." }
`);

/** A conversation handed off: the user wrote twice (the second message ran the handoff step). */
async function handedOff(): Promise<Conversation> {
  const c = new Conversation(engine, DESK);
  await c.send('hi');
  c.services.history.push(
    { direction: 'in', text: 'hi', at: c.now },
    { direction: 'out', text: 'Say AGENT for a person.', at: c.now },
  );
  c.now += 1000;
  const turn = await c.send('AGENT');
  expect(turn.output.replies).toEqual([{ text: 'A person will reply here soon.' }]);
  return c;
}

describe('handoff on a text channel', () => {
  it('says the text, waits as "handoff" until the idle timeout, and emits the redacted history', async () => {
    const c = await handedOff();
    expect(c.state).toEqual({
      flow: 'main',
      step: 1,
      vars: { input: 'AGENT', first: 'AGENT' },
      pending: { kind: 'handoff', keepUntil: c.now + 120_000 },
      expiresAt: c.now + 120_000,
      handoff: {
        since: c.now,
        idleMs: 120_000,
        lastInbound: c.now,
        from: '+12025550100',
        to: '+15005550006',
        provider: { accountSid: 'AC1' },
      },
    });
    const event = c.services.events.find((e) => e.type === 'conversation.handoff');
    expect(JSON.parse(String(event?.data?.history))).toEqual([
      { direction: 'in', text: 'hi', at: c.now - 1000 },
      { direction: 'out', text: 'Say AGENT for a person.', at: c.now - 1000 },
      { direction: 'in', text: 'AGENT', at: c.now },
      { direction: 'out', text: 'A person will reply here soon.', at: c.now },
    ]);
  });

  it('a secret line of the history stays "[redacted]"', async () => {
    const c = new Conversation(engine, DESK);
    c.services.history.push({ direction: 'in', text: '[redacted]', at: 1, secret: true });
    await c.send('hi');
    await c.send('AGENT');
    const event = c.services.events.find((e) => e.type === 'conversation.handoff');
    expect(JSON.parse(String(event?.data?.history))[0]).toEqual({
      direction: 'in',
      text: '[redacted]',
      at: 1,
      secret: true,
    });
  });

  it('the user’s messages get no reply and go to the operator; HELP and MENU too', async () => {
    const c = await handedOff();
    for (const text of ['where is my order?', 'HELP', 'MENU']) {
      c.now += 1000;
      expect(await c.say(text)).toEqual([]);
      expect(c.services.events.at(-1)).toEqual({ type: 'conversation.message', data: { text } });
      expect(c.state?.expiresAt).toBe(c.now + 120_000);
      expect(c.state?.handoff?.lastInbound).toBe(c.now);
    }
  });

  it('STOP still opts out (and ends the handoff)', async () => {
    const c = await handedOff();
    const stop = await c.send('STOP');
    expect(stop.optOut).toBe(true);
    expect(stop.state).toBeNull();
  });

  it('an agent’s text is the reply; a resume runs the step after the handoff', async () => {
    const c = await handedOff();
    c.now += 1000;
    const agent = await c.send('Your order ships today.', { kind: 'agent' });
    expect(agent.output.replies).toEqual([{ text: 'Your order ships today.' }]);
    expect(agent.state?.handoff?.lastInbound).toBe(c.now - 1000); // the agent does not open a window
    expect(agent.state?.expiresAt).toBe(c.now + 120_000);
    const resumed = await c.send('', { kind: 'resume' });
    expect(resumed.output.replies.map((r) => r.text)).toEqual(['The bot is back. Anything else?']);
    expect(resumed.state?.handoff).toBeUndefined();
    expect(c.services.events.at(-1)).toEqual({
      type: 'conversation.resumed',
      data: { reason: 'operator', flow: 'main' },
    });
    expect(await c.say('no')).toEqual(['Bye.']);
  });

  it('a resume may name the flow to carry on in', async () => {
    const c = await handedOff();
    expect(await c.say('', { kind: 'resume', resume: { flow: 'other' } })).toEqual(['Other flow.']);
  });

  it('an agent’s text or a resume for a conversation not handed off changes nothing', async () => {
    const c = new Conversation(engine, DESK);
    await c.send('hi');
    const before = c.state;
    const agent = await c.send('hello?', { kind: 'agent' });
    expect(agent).toEqual({ state: before, output: { replies: [], hangup: false }, carriedSecret: false });
    const resume = await c.send('', { kind: 'resume' });
    expect(resume.state).toBe(before);
  });

  it('after the idle timeout the next message starts over at main, with conversation.resumed (idle)', async () => {
    const c = await handedOff();
    c.now += 120_000;
    expect(await c.say('hello?')).toEqual(['Say AGENT for a person.']);
    expect(c.services.events.slice(-2).map((e) => [e.type, e.data])).toEqual([
      ['conversation.resumed', { reason: 'idle' }],
      ['conversation.started', undefined],
    ]);
  });
});

describe('handoff on a call', () => {
  const call = async (b: BotConfig) => {
    const c = new Conversation(engine, b, 'voice');
    return c.send('');
  };

  it('transfers to a number with the whisper, and ends the bot’s part of the call', async () => {
    const turn = await call(CALL('number: "+14155550100", whisper: "A caller from the desk."'));
    expect(turn.output).toEqual({
      replies: [{ text: 'Connecting you.' }],
      hangup: true,
      transfer: {
        to: { number: '+14155550100' },
        whisper: 'A caller from the desk.',
        noAnswer: 'Nobody is free.',
      },
    });
    expect(turn.state).toBeNull();
  });

  it('to a SIP address and to a queue', async () => {
    expect((await call(CALL('sip: "sip:desk@example.sip.twilio.com"'))).output.transfer).toEqual({
      to: { sip: 'sip:desk@example.sip.twilio.com' },
      noAnswer: 'Nobody is free.',
    });
    expect((await call(CALL('queue: "support"'))).output.transfer).toEqual({
      to: { queue: 'support' },
      noAnswer: 'Nobody is free.',
    });
  });

  it('with nowhere to transfer to, says the no-answer text and reports the configuration', async () => {
    const c = new Conversation(
      engine,
      bot(`flows: { main: [ { handoff: { noAnswer: "Nobody." } } ] }`),
      'voice',
    );
    const turn = await c.send('');
    expect(turn.output.replies.map((r) => r.text)).toEqual([
      'Connecting you to a person. Please hold.',
      'Nobody.',
    ]);
    expect(turn.output.transfer).toBeUndefined();
    expect(c.services.reports).toEqual([
      'flow main step 1: a handoff on a call needs "number", "sip" or "queue"',
    ]);
  });
});

describe('handoff configuration', () => {
  const problems = (options: string) => {
    const result = BotSchema.safeParse({
      workspace: 'w',
      ...(parse(`flows: { main: [ { handoff: ${options} } ] }`) as object),
    });
    return result.success ? [] : result.error.issues.map((i) => i.message.split('\n')[0]);
  };
  it('refuses a number that is not E.164, a bad SIP address, two targets, a whisper for a queue', () => {
    expect(problems('{ number: "4155550100" }')).toEqual(['"number" is not an E.164 number']);
    expect(problems('{ sip: "desk" }')).toEqual(['"sip" is not a SIP address']);
    expect(problems('{ number: "+14155550100", queue: "q" }')).toEqual([
      'a handoff transfers a call to one place, not "number" and "queue"',
    ]);
    expect(problems('{ queue: "q", whisper: "hi" }')).toEqual([
      '"whisper" is said to an agent called on a number or a SIP address',
    ]);
    expect(problems('{}')).toEqual([]);
  });
});
