// A reload that renames a flow with conversations in it: it is applied, the log warns with the flow's name and
// how many conversations wait in it, and each of them starts again at main on its next message, saying so.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { TEXT } from '../../../src/core/dialog/text.js';
import { NUMBERS } from '../../support/config.js';
import { botOn, startDialogHarness, type DialogHarness } from '../dialog/helpers.js';

const RESTARTED = "Sorry, this conversation was updated. Let's start again.";
const OTHER_SMS = '+15005550031';

const FLOWS = `    flows:
      main:
        - say: "Welcome to the desk."
        - ask: { prompt: "Reply 1 for hours or 2 for prices.", save: pick, keypad: true, digits: 1 }
        - switch: { value: "{{pick}}", cases: { "1": hours, "2": prices } }
      hours:
        - ask: { prompt: "Which day?", save: day }
        - end: "We are open on {{day}}."
      prices:
        - ask: { prompt: "Which product?", save: product }
        - end: "A {{product}} costs one dollar."`;

// The first bot's flow `hours` is renamed; the second bot has one of the same name, which the reload keeps.
const BOTS = [botOn('desk', FLOWS, NUMBERS), botOn('other-desk', FLOWS, { sms: OTHER_SMS })].join('\n');
const MAIN = ['Welcome to the desk.', 'Reply 1 for hours or 2 for prices.'];
const WARNING = 'configuration reload removed flows; their conversations start again at main';

let h: DialogHarness;
let dir: string;
beforeAll(async () => {
  h = await startDialogHarness({ bots: BOTS, label: 'reload' });
  dir = await mkdtemp(join(tmpdir(), 'switchboard-reload-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The running configuration file with the first bot's `hours` flow renamed `opening-hours`, loaded. */
async function renamedConfig() {
  const text = (await readFile(h.configPath, 'utf8'))
    .replace('cases: { "1": hours,', 'cases: { "1": opening-hours,')
    .replace('      hours:\n', '      opening-hours:\n');
  const path = join(dir, 'switchboard.yaml');
  await writeFile(path, text);
  return loadConfig({ path, env: h.processEnv });
}

it('the waiting users get the restart text and the main prompt; the log names the flow and the count', async () => {
  expect(TEXT.flowRestarted).toBe(RESTARTED);
  const waiting = [h.sms(), h.whatsapp()];
  for (const c of waiting) {
    expect(await c.send('hi')).toEqual(MAIN);
    expect(await c.send('1')).toEqual(['Which day?']);
  }
  const inPrices = h.sms();
  await inPrices.send('hi');
  expect(await inPrices.send('2')).toEqual(['Which product?']);
  const otherBot = h.sms(undefined, OTHER_SMS);
  await otherBot.send('hi');
  expect(await otherBot.send('1')).toEqual(['Which day?']);

  const config = await renamedConfig();
  expect(Object.keys(config.bots.desk!.flows)).toEqual(['main', 'opening-hours', 'prices']);
  await h.gateway!.reload(config);

  expect(h.logs.find(WARNING)).toEqual([
    expect.objectContaining({
      level: 'warn',
      bot: 'desk',
      flows: ['hours'],
      restartsAt: 'main',
      conversations: 2,
      waiting: { hours: 2 },
    }),
  ]);
  for (const c of waiting) {
    expect(await c.send('Monday')).toEqual([RESTARTED, ...MAIN]);
    expect(await c.send('1')).toEqual(['Which day?']);
    expect(await c.send('Monday')).toEqual(['We are open on Monday.']);
  }
  // A conversation in a flow the reload kept, and the other bot's `hours`, carry on where they were.
  expect(await inPrices.send('pen')).toEqual(['A pen costs one dollar.']);
  expect(await otherBot.send('Friday')).toEqual(['We are open on Friday.']);
});

it('a reload that removes no flow warns of nothing', async () => {
  const before = h.logs.find(WARNING).length;
  await h.gateway!.reload(await renamedConfig());
  expect(h.logs.find(WARNING)).toHaveLength(before);
});
