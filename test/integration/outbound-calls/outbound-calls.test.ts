// Outbound calls: POST /v1/calls places a call through the fake Twilio API with the gateway's URLs; the test
// plays Twilio's side (signed webhooks of an outbound-api call) through a keypad flow; a call nobody
// answers is reported as call.failed; an answering machine is left the configured message.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startEventReceiver, type FakeEventReceiver } from '../../fakes/event-receiver.js';
import { ACCOUNT_SID, botYaml, configVariables, NUMBERS, PUBLIC_URL } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { twimlAttribute } from '../../support/twiml.js';

const CALLEE = '+12125557788';
const XML = '<?xml version="1.0" encoding="UTF-8"?>';
const SAY = '<Say voice="Polly.Joanna" language="en-US">';
const API_KEY = configVariables().TEST_API_KEY!;
const EVENTS_SECRET = 'call-events-secret-0123456789';

const CLINIC = botYaml(
  'clinic',
  `    flows:
      main:
        - end: "This is the clinic."
      reminder:
        - ask:
            prompt: "Hello {{name}}. Press 1 to confirm tomorrow's appointment at {{time}}, or 2 to cancel."
            save: choice
            keypad: true
            digits: 1
            pattern: "^[12]$"
        - switch: { value: "{{choice}}", cases: { "1": confirmed, "2": cancelled } }
      confirmed:
        - end: "Your appointment is confirmed. Goodbye."
      cancelled:
        - end: "Your appointment is cancelled. Goodbye."`,
);

/** A bot with an SMS number only: it has nothing to call from. */
const TEXT_ONLY = `  texts:
    workspace: test
    numbers: { sms: ["+15005550099"] }
    flows:
      main:
        - end: "Hi."`;

let h: Harness | undefined;
let receiver: FakeEventReceiver | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

async function start(): Promise<Harness> {
  receiver = await startEventReceiver(EVENTS_SECRET);
  const url = receiver.url;
  return startHarness({
    bots: `${CLINIC}\n${TEXT_ONLY}`,
    label: 'ocall',
    adjust: (config) => {
      config.workspaces.test!.events = { url: `${url}/events`, secret: EVENTS_SECRET };
    },
  });
}

async function placeCall(harness: Harness, body: unknown, raw?: string, key: string = randomUUID()) {
  const res = await fetch(`${harness.main!.url}/v1/calls`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${API_KEY}`,
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    body: raw ?? JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The fields Twilio sends about a call the gateway placed: From is our number, To the person called. */
function outbound(
  callSid: string,
  status: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    AccountSid: ACCOUNT_SID,
    ApiVersion: '2010-04-01',
    CallSid: callSid,
    CallStatus: status,
    Direction: 'outbound-api',
    From: NUMBERS.voice,
    Caller: NUMBERS.voice,
    To: CALLEE,
    Called: CALLEE,
    ...extra,
  };
}

function gather(turn: number, prompt: string): string {
  return (
    `<Gather input="dtmf" numDigits="1" finishOnKey="#" timeout="5" ` +
    `action="${PUBLIC_URL}/webhooks/voice/gather?turn=${turn}" method="POST" actionOnEmptyResult="true">` +
    `${SAY}${prompt}</Say></Gather>`
  );
}

describe('POST /v1/calls', () => {
  it('places the call with the gateway’s URLs and runs the flow on the keypad when Twilio brings it back', async () => {
    h = await start();
    const placed = await placeCall(h, {
      bot: 'clinic',
      to: CALLEE,
      flow: 'reminder',
      variables: { name: 'Ana', time: '10 am' },
    });
    expect(placed.status).toBe(201);
    const sid = placed.body.id as string;
    expect(sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(placed.body).toEqual({
      id: sid,
      conversation: h.callConversation('clinic', `voice:${CALLEE}`, sid),
      bot: 'clinic',
      to: CALLEE,
      flow: 'reminder',
      status: 'queued',
    });

    // What Twilio was asked, by the real twilio client.
    expect(h.twilio.calls).toHaveLength(1);
    const call = h.twilio.calls[0]!;
    expect(call).toMatchObject({
      sid,
      accountSid: ACCOUNT_SID,
      to: CALLEE,
      from: NUMBERS.voice,
      url: `${PUBLIC_URL}/webhooks/voice`,
      statusCallback: `${PUBLIC_URL}/webhooks/voice/status`,
      statusCallbackEvents: ['initiated', 'ringing', 'answered', 'completed'],
    });
    expect(call.params.Method).toBe('POST');
    expect(call.params.StatusCallbackMethod).toBe('POST');
    expect(call.params.MachineDetection).toBeUndefined();
    // The plan waits under the CallSid's keyed hash, sealed: neither the number nor a variable in clear.
    const planKey = h.keys.outboundCall(sid);
    expect(planKey).not.toContain(sid);
    const sealed = (await h.redis.get(planKey))!;
    expect(sealed).not.toContain('Ana');
    expect(sealed).not.toContain(CALLEE);
    expect(await h.redis.ttl(planKey)).toBeGreaterThan(86_000);

    // Twilio's side: it rings, the person answers, Twilio asks for TwiML.
    for (const status of ['initiated', 'ringing']) {
      const answer = await h.webhooks.post('/webhooks/voice/status', outbound(sid, status));
      expect(answer.status).toBe(204);
    }
    const first = await h.webhooks.post('/webhooks/voice', outbound(sid, 'in-progress'));
    expect(first.status).toBe(200);
    expect(first.body).toBe(
      `${XML}<Response>${gather(1, "Hello Ana. Press 1 to confirm tomorrow's appointment at 10 am, or 2 to cancel.")}</Response>`,
    );
    const action = twimlAttribute(first.body, 'Gather', 'action')!;
    const last = await h.webhooks.post(h.webhooks.pathOf(action), {
      ...outbound(sid, 'in-progress'),
      Digits: '1',
      FinishedOnKey: '',
    });
    expect(last.body).toBe(
      `${XML}<Response>${SAY}Your appointment is confirmed. Goodbye.</Say><Hangup/></Response>`,
    );

    const cid = h.callConversation('clinic', `voice:${CALLEE}`, sid);
    const done = await h.webhooks.post(
      '/webhooks/voice/status',
      outbound(sid, 'completed', { CallDuration: '14' }),
    );
    expect(done.status).toBe(204);
    await h.handled(`${sid}:end`);
    expect(await h.redis.exists(h.keys.state(cid), planKey)).toBe(0);
    // A replay of the answered call's webhook after it ended runs nothing.
    const replay = await h.webhooks.post('/webhooks/voice', outbound(sid, 'in-progress'));
    expect(replay.body).toBe(`${XML}<Response><Hangup/></Response>`);
    // Nothing but the call went to Twilio's REST API.
    expect(h.twilio.messages).toEqual([]);
  });

  it('calls a registered user at their voice number and reports no answer as call.failed, once', async () => {
    h = await start();
    const registered = await fetch(`${h.main!.url}/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'patient-7', identities: [{ channel: 'voice', address: CALLEE }] }),
    });
    expect(registered.status).toBe(201);
    const placed = await placeCall(h, {
      bot: 'clinic',
      to: { userId: 'patient-7' },
      flow: 'reminder',
      variables: { name: 'Bo', time: '9' },
    });
    expect(placed.status).toBe(201);
    expect(placed.body.to).toBe(CALLEE);
    expect(h.twilio.calls[0]!.to).toBe(CALLEE);
    const sid = placed.body.id as string;
    await h.webhooks.post('/webhooks/voice/status', outbound(sid, 'ringing'));
    const noAnswer = await h.webhooks.post('/webhooks/voice/status', outbound(sid, 'no-answer'));
    expect(noAnswer.status).toBe(204);
    // Twilio retrying its callback reports nothing more.
    expect((await h.webhooks.post('/webhooks/voice/status', outbound(sid, 'no-answer'))).status).toBe(204);

    const [delivery] = await receiver!.waitForAccepted(1);
    expect(delivery!.signature.ok).toBe(true);
    expect(delivery!.event).toMatchObject({
      type: 'call.failed',
      workspace: 'test',
      channel: 'voice',
      userId: 'patient-7',
      data: { bot: 'clinic', call: sid, to: CALLEE, status: 'no-answer' },
    });
    expect(await h.redis.exists(h.keys.outboundCall(sid))).toBe(0);
    expect(receiver!.accepted()).toHaveLength(1);
  });

  it('leaves the configured message on an answering machine and hangs up', async () => {
    h = await start();
    const placed = await placeCall(h, {
      bot: 'clinic',
      to: CALLEE,
      flow: 'reminder',
      variables: { name: 'Cy', time: '8' },
      machineDetection: { message: 'This is the clinic about tomorrow. Please call us back.' },
    });
    expect(placed.status).toBe(201);
    const sid = placed.body.id as string;
    expect(h.twilio.calls[0]!.params.MachineDetection).toBe('DetectMessageEnd');

    const answer = await h.webhooks.post(
      '/webhooks/voice',
      outbound(sid, 'in-progress', { AnsweredBy: 'machine_end_beep', MachineDetectionDuration: '4200' }),
    );
    expect(answer.body).toBe(
      `${XML}<Response>${SAY}This is the clinic about tomorrow. Please call us back.</Say><Hangup/></Response>`,
    );
    // No dialog ran: the call has no conversation state.
    expect(await h.redis.exists(h.keys.state(h.callConversation('clinic', `voice:${CALLEE}`, sid)))).toBe(0);
  });

  it('hangs up on an outbound-api webhook of a call it did not place', async () => {
    h = await start();
    const answer = await h.webhooks.post(
      '/webhooks/voice',
      outbound('CA0123456789abcdef0123456789abcdef', 'in-progress'),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(`${XML}<Response><Hangup/></Response>`);
  });

  it('answers bad input with the documented 4xx and places nothing', async () => {
    h = await start();
    const cases: [unknown, number, string][] = [
      [{ bot: 'nobody', to: CALLEE }, 404, 'bot_not_found'],
      [{ bot: 'texts', to: CALLEE }, 422, 'no_voice_number'],
      [{ bot: 'clinic', to: CALLEE, flow: 'nowhere' }, 404, 'flow_not_found'],
      [{ bot: 'clinic', to: '2125557788' }, 422, 'validation_failed'],
      [{ bot: 'clinic', to: { userId: 'someone-else' } }, 404, 'user_not_found'],
      [{ bot: 'clinic', to: CALLEE, variables: { input: 'x' } }, 422, 'validation_failed'],
      [{ bot: 'clinic', to: CALLEE, extra: true }, 422, 'validation_failed'],
      [{ bot: 'clinic', to: CALLEE, machineDetection: {} }, 422, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await placeCall(h, body);
      expect({ body, status: answer.status, code: (answer.body.error as { code: string }).code }).toEqual({
        body,
        status,
        code,
      });
    }
    const malformed = await placeCall(h, undefined, '{"bot": ');
    expect(malformed.status).toBe(400);
    expect((malformed.body.error as { code: string }).code).toBe('invalid_json');
    const huge = await placeCall(
      h,
      undefined,
      JSON.stringify({ bot: 'clinic', to: CALLEE, pad: 'x'.repeat(1_100_000) }),
    );
    expect(huge.status).toBe(413);
    expect(h.twilio.calls).toEqual([]);
  });

  it('places one call for the same Idempotency-Key posted 3 times at once, and asks for a key when there is none', async () => {
    h = await start();
    const body = { bot: 'clinic', to: CALLEE };
    const answers = await Promise.all([1, 2, 3].map(() => placeCall(h!, body, undefined, 'visit-0412')));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(h.twilio.calls).toHaveLength(1);
    const res = await fetch(`${h.main!.url}/v1/calls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('idempotency_key_required');
    expect(h.twilio.calls).toHaveLength(1);
  });

  it('answers 424 with Twilio’s code when Twilio refuses the call, and remembers nothing', async () => {
    h = await start();
    h.twilio.failNextCall({
      status: 400,
      code: 21215,
      message: 'Geo Permission configuration is not permitting call',
    });
    const refused = await placeCall(h, { bot: 'clinic', to: CALLEE });
    expect(refused).toEqual({
      status: 424,
      body: {
        error: {
          code: 'twilio_refused',
          message:
            'Twilio refused to place the call (error 21215): Geo Permission configuration is not permitting call',
          details: [{ path: 'to', message: 'Twilio error 21215' }],
        },
      },
    });
    expect(h.twilio.calls).toEqual([]);
  });
});
