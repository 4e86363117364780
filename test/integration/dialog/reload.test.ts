// SIGHUP on a real `switchboard start`: a broken file is refused and the old bot keeps answering; a fixed one is taken.
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botYaml } from '../../support/config.js';
import { spawnSwitchboard, type SwitchboardProcess } from '../../support/processes.js';
import { newSid, TwilioWebhookClient } from '../../support/webhooks.js';
import { dialogConfigYaml, randomNumber, startDialogHarness, type DialogHarness } from './helpers.js';

const bot = (version: string, prompt: string, end: string) =>
  botYaml(
    'greeter',
    `    flows:
      main:
        - say: "This is ${version}."
        - ask: { prompt: "${prompt}", save: name }
        - end: "${end}"`,
  );

const V1 = bot('version one', 'What is your name?', 'Hello {{name}} from version one.');
const V2 = bot('version two', 'Who is calling?', 'Hi {{name}}, this is version two.');

let h: DialogHarness;
let proc: SwitchboardProcess;
let webhooks: TwilioWebhookClient;

beforeAll(async () => {
  h = await startDialogHarness({ bots: V1, gateway: false, label: 'reload' });
  proc = await spawnSwitchboard('start', h.processEnv, 'start');
  const port = proc.logs.find('switchboard started')[0]?.port;
  expect(typeof port).toBe('number');
  webhooks = new TwilioWebhookClient(`http://127.0.0.1:${String(port)}`);
}, 120_000); // the first spawn may build a stale dist/

afterAll(async () => {
  await proc?.stop('SIGTERM');
  await h?.close();
});

/** Sends an SMS to the spawned process and returns exactly `count` new replies to `from`. */
async function sms(from: string, body: string, count: number): Promise<string[]> {
  const before = h.twilio.messagesTo(from).length;
  const answer = await webhooks.sms(from, body, { MessageSid: newSid() });
  expect(answer.status).toBe(200);
  const all = await h.twilio.waitForMessages(from, before + count);
  return all.slice(before).map((m) => m.body ?? '');
}

/** Sends SIGHUP to the process and resolves with the log line that answers it. */
async function sighup<T>(signalled: Promise<T>): Promise<T> {
  proc.child.kill('SIGHUP');
  return signalled;
}

describe('SIGHUP', () => {
  it('refuses a broken file and keeps the old bot; takes a fixed one, conversations in flight carrying on', async () => {
    const ada = randomNumber();
    expect(await sms(ada, 'hi', 2)).toEqual(['This is version one.', 'What is your name?']);

    // An operator's edit that breaks the file.
    await writeFile(h.configPath, `${dialogConfigYaml(V2, h.twilio.url)}  oops: [unclosed\n`, 'utf8');
    const refused = await sighup(
      proc.logs.waitFor(
        (l) => l.message.startsWith('configuration reload refused'),
        'configuration reload refused',
      ),
    );
    expect(refused).toMatchObject({
      level: 'error',
      message: 'configuration reload refused; keeping the running configuration',
    });
    expect(String(refused.problems)).toContain(h.configPath);

    // The old configuration still answers: the conversation in flight, and a new one.
    expect(await sms(ada, 'Ada', 1)).toEqual(['Hello Ada from version one.']);
    const bob = randomNumber();
    expect(await sms(bob, 'hi', 2)).toEqual(['This is version one.', 'What is your name?']);

    // The fixed file, with a change.
    await writeFile(h.configPath, dialogConfigYaml(V2, h.twilio.url), 'utf8');
    const reloaded = await sighup(proc.logs.waitForMessage('configuration reloaded'));
    expect(reloaded).toMatchObject({ level: 'info', bots: ['greeter'] });

    // Bob's question was asked by version one; his answer is taken by version two.
    expect(await sms(bob, 'Bob', 1)).toEqual(['Hi Bob, this is version two.']);
    expect(await sms(randomNumber(), 'hi', 2)).toEqual(['This is version two.', 'Who is calling?']);
    expect(proc.alive()).toBe(true);
    expect(proc.logs.find('configuration reload refused; keeping the running configuration')).toHaveLength(1);
  });
});
