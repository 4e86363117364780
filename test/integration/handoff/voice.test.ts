// Handoff on a call through the real gateway: the TwiML carries the exact <Dial> (a number or a SIP address,
// with the whisper) or <Enqueue>; the whisper and the end of the transfer are the gateway's own signed routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SID } from '../../support/config.js';
import { newSid } from '../../support/webhooks.js';
import {
  botOn,
  NUMBERS,
  PUBLIC_URL,
  say,
  startDialogHarness,
  twiml,
  HANGUP,
  type DialogHarness,
} from '../dialog/helpers.js';

const SIP_NUMBER = '+15005550021';
const QUEUE_NUMBER = '+15005550022';
const AGENT = '+14155550100';

const handoffBot = (id: string, number: string, target: string) =>
  botOn(
    id,
    `    flows:
      main:
        - handoff: { message: "Connecting you to the desk.", ${target}, noAnswer: "Nobody is free. Goodbye." }`,
    { voice: number },
  );

const BOTS = [
  handoffBot('dial', NUMBERS.voice, `number: "${AGENT}", whisper: "A caller from the pharmacy line."`),
  handoffBot('sip', SIP_NUMBER, 'sip: "sip:desk@example.sip.twilio.com", whisper: "Pharmacy caller."'),
  handoffBot('queue', QUEUE_NUMBER, 'queue: "pharmacy"'),
].join('\n');

let h: DialogHarness;

beforeAll(async () => {
  h = await startDialogHarness({ bots: BOTS, label: 'handoff-voice' });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const SETTINGS = 'voice=Polly.Joanna&amp;language=en-US';
const ACTION = `${PUBLIC_URL}/webhooks/voice/transfer?say=Nobody+is+free.+Goodbye.&amp;${SETTINGS}`;

describe('handoff on a call', () => {
  it('dials the agent’s number with the whisper', async () => {
    const call = h.call(undefined, NUMBERS.voice);
    expect(await call.start()).toBe(
      twiml(
        say('Connecting you to the desk.'),
        `<Dial action="${ACTION}" method="POST">` +
          `<Number url="${PUBLIC_URL}/webhooks/voice/whisper?say=A+caller+from+the+pharmacy+line.&amp;${SETTINGS}" method="POST">${AGENT}</Number>` +
          '</Dial>',
      ),
    );
  });

  it('dials a SIP address with the whisper', async () => {
    const call = h.call(undefined, SIP_NUMBER);
    expect(await call.start()).toBe(
      twiml(
        say('Connecting you to the desk.'),
        `<Dial action="${ACTION}" method="POST">` +
          `<Sip url="${PUBLIC_URL}/webhooks/voice/whisper?say=Pharmacy+caller.&amp;${SETTINGS}" method="POST">sip:desk@example.sip.twilio.com</Sip>` +
          '</Dial>',
      ),
    );
  });

  it('enqueues the call to a queue', async () => {
    const call = h.call(undefined, QUEUE_NUMBER);
    expect(await call.start()).toBe(
      twiml(
        say('Connecting you to the desk.'),
        `<Enqueue action="${ACTION}" method="POST">pharmacy</Enqueue>`,
      ),
    );
  });

  it('the whisper is said to the agent; an unsigned request for it is refused', async () => {
    const path = `/webhooks/voice/whisper?say=A+caller+from+the+pharmacy+line.&voice=Polly.Joanna&language=en-US`;
    const agentLeg = {
      AccountSid: ACCOUNT_SID,
      CallSid: newSid('CA'),
      ParentCallSid: newSid('CA'),
      From: NUMBERS.voice,
      To: AGENT,
      CallStatus: 'in-progress',
      Direction: 'outbound-api',
    };
    const answer = await h.webhooks.post(path, agentLeg);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(twiml(say('A caller from the pharmacy line.')));
    const unsigned = await fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(agentLeg).toString(),
    });
    expect(unsigned.status).toBe(403);
  });

  it('when no one answers the caller hears the no-answer text; after a talk the call hangs up', async () => {
    const path = '/webhooks/voice/transfer?say=Nobody+is+free.+Goodbye.&voice=Polly.Joanna&language=en-US';
    const caller = {
      AccountSid: ACCOUNT_SID,
      CallSid: newSid('CA'),
      From: '+12025550123',
      To: NUMBERS.voice,
      CallStatus: 'in-progress',
    };
    for (const status of ['no-answer', 'busy', 'failed']) {
      const answer = await h.webhooks.post(path, { ...caller, DialCallStatus: status });
      expect(answer.body).toBe(twiml(say('Nobody is free. Goodbye.'), HANGUP));
    }
    expect((await h.webhooks.post(path, { ...caller, DialCallStatus: 'completed' })).body).toBe(
      twiml(HANGUP),
    );
    expect((await h.webhooks.post(path, { ...caller, QueueResult: 'bridged' })).body).toBe(twiml(HANGUP));
    expect((await h.webhooks.post(path, { ...caller, QueueResult: 'hangup' })).body).toBe(
      twiml(say('Nobody is free. Goodbye.'), HANGUP),
    );
  });
});
