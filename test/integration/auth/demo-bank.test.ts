// The example bank bot as shipped (config/examples/demo-bank.yaml with the demo bank) logs in on WhatsApp, SMS and voice.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoBank } from '../../../examples/demo-bank/server.js';
import { REPO_ROOT } from '../../support/processes.js';
import {
  gather,
  HANGUP,
  say,
  startDialogHarness,
  twilioYaml,
  twiml,
  type DialogHarness,
} from '../dialog/helpers.js';
import { tokenKey } from './helpers.js';

const WELCOME = 'Welcome to Demo Bank.';
const MENU = 'Reply 1 for your balance or 2 for your last payment.';
const USERNAME = 'What is your username?';
const PASSWORD = 'What is your password?';
const MEMBER = 'Enter your member number, then press pound.';
const PIN = 'Enter your four digit PIN.';
const NUMBERS = { sms: '+15005550006', whatsapp: '+14155238886', voice: '+15005550006' };

let bank: Awaited<ReturnType<typeof startDemoBank>>;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startDemoBank({ port: 0 });
  h = await startDialogHarness({
    files: (twilioUrl) => ({
      'demo-bank.yaml': readFileSync(join(REPO_ROOT, 'config/examples/demo-bank.yaml'), 'utf8'),
      'twilio.yaml': twilioYaml(twilioUrl),
    }),
    variables: {
      PUBLIC_URL: 'https://switchboard.test',
      DEMO_API_KEY: 'demo-key-0123456789abcdef0123456789abcdef',
      DEMO_BANK_PORT: String(bank.port),
    },
    label: 'auth-demo-bank',
  });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

describe('demo bank', () => {
  it('WhatsApp: alice / wonderland, then the balance; asked again, served from the cached token', async () => {
    const c = h.whatsapp(undefined, NUMBERS.whatsapp);
    expect(await c.send('hi')).toEqual([WELCOME, MENU]);
    expect(await c.send('1')).toEqual([USERNAME]);
    expect(await c.send('alice')).toEqual([PASSWORD]);
    expect(await c.send('wonderland')).toEqual(['Your balance is 1,234.56 USD.', WELCOME, MENU]);
    const cached = tokenKey(h, { workspace: 'demo', userId: 'u-alice' }, 'bank-login');
    expect(await h.redis.exists(cached)).toBe(1);
    expect(await c.send('1')).toEqual(['Your balance is 1,234.56 USD.', WELCOME, MENU]);
  });

  it('SMS: a wrong password is asked again, then bob / builder gets his balance', async () => {
    const c = h.sms(undefined, NUMBERS.sms);
    expect(await c.send('hello')).toEqual([WELCOME, MENU]);
    expect(await c.send('1')).toEqual([USERNAME]);
    expect(await c.send('bob')).toEqual([PASSWORD]);
    expect(await c.send('wonderland')).toEqual([
      "Sorry, those details didn't match. Let's try again.",
      USERNAME,
    ]);
    expect(await c.send('bob')).toEqual([PASSWORD]);
    expect(await c.send('builder')).toEqual(['Your balance is 87.10 EUR.', WELCOME, MENU]);
  });

  it('voice: member 1001 and PIN 4321 on the keypad, then the last payment and goodbye', async () => {
    const c = h.call(undefined, NUMBERS.voice);
    expect(await c.start()).toBe(twiml(say(WELCOME), gather(1, MENU, { keypad: true, digits: 1 })));
    expect(await c.press('2')).toBe(twiml(gather(2, MEMBER, { keypad: true })));
    expect(await c.press('1001')).toBe(twiml(gather(3, PIN, { keypad: true, digits: 4 })));
    expect(await c.press('4321')).toBe(
      twiml(say('Your last payment was 42.00 USD to City Power.'), say('Goodbye.'), HANGUP),
    );
  });
});
