// In sandbox mode a proactive message is recorded where the simulator reads its thread (GET /sandbox/outbox),
// a template as "[template <ContentSid> <ContentVariables>]".
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botYaml, configVariables } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { jsonRequest } from '../../support/json-api.js';
import { eventually } from '../../support/wait.js';

const SID = 'HX0123456789abcdef0123456789abcdef';
const BOT = botYaml(
  'notify',
  `    templates:
      ready: { contentSid: ${SID}, variables: [name] }
    flows:
      main:
        - say: "Hello."`,
);
const KEY = configVariables().TEST_API_KEY!;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ bots: BOT, sandbox: true, label: 'proactive-sandbox' });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const send = (body: unknown) =>
  jsonRequest(h.main!.url!, 'POST', '/v1/messages', {
    key: KEY,
    body,
    headers: { 'idempotency-key': randomUUID() },
  });

/** What the sandbox recorded for `to`, once it has something. */
async function outbox(to: string): Promise<{ body: string; from: string }[]> {
  return eventually(async () => {
    const path = `/sandbox/outbox?to=${encodeURIComponent(to)}&thread=1`;
    const list = (await jsonRequest(h.main!.url!, 'GET', path, { key: null })).json as {
      body: string;
      from: string;
    }[];
    return list.length > 0 ? list : undefined;
  }, `the sandbox outbox of ${to}`);
}

describe('proactive messages in the sandbox', () => {
  it('are in the thread the simulator shows, text and template alike', async () => {
    expect((await send({ bot: 'notify', to: 'sms:+12025550177', text: 'Your order is ready.' })).status).toBe(
      202,
    );
    expect(
      (
        await send({
          bot: 'notify',
          to: 'whatsapp:+12025550177',
          template: { name: 'ready', variables: { name: 'Ada' } },
        })
      ).status,
    ).toBe(202);
    const sms = await outbox('+12025550177');
    expect(sms.map((m) => m.body)).toEqual(['Your order is ready.']);
    const wa = await outbox('whatsapp:+12025550177');
    expect(wa.map((m) => m.body)).toEqual([`[template ${SID} {"name":"Ada"}]`]);
  });
});
