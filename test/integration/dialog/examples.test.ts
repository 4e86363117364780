// The example bots in config/examples/ pass check-config and hold scripted conversations, unmodified.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDemoBank } from '../../../examples/demo-bank/server.js';
import { CLI, ensureBuilt, REPO_ROOT } from '../../support/processes.js';
import {
  gather,
  HANGUP,
  say,
  startDialogHarness,
  twilioYaml,
  twiml,
  type DialogHarness,
  type VoiceLook,
} from './helpers.js';

// The pharmacy's API (api.northside-pharmacy.example) does not exist: its name fails to resolve at once,
// the same on every machine, so the example's onError paths run without touching the network.
vi.mock('node:dns', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns')>();
  const lookup = ((hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
    if (hostname.endsWith('.example')) {
      return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    }
    return (real.lookup as (...args: unknown[]) => void)(hostname, options, callback);
  }) as typeof real.lookup;
  return { ...real, lookup, default: { ...real, lookup } };
});

const example = (name: string) => readFileSync(join(REPO_ROOT, 'config/examples', name), 'utf8');

function checkConfig(file: string, variables: Record<string, string>) {
  ensureBuilt();
  return spawnSync(process.execPath, [CLI, 'check-config', `config/examples/${file}`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...variables },
    encoding: 'utf8',
  });
}

const BANK_VARIABLES = {
  PUBLIC_URL: 'https://switchboard.test',
  DEMO_API_KEY: 'demo-key-0123456789abcdef0123456789abcdef',
  DEMO_BANK_PORT: '4010',
  DEMO_IDP_ISSUER: 'http://127.0.0.1:4011',
  DEMO_IDP_CLIENT_ID: 'switchboard-demo',
  DEMO_IDP_CLIENT_SECRET: 'demo-client-secret-for-the-tests',
};
const PHARMACY_VARIABLES = {
  PUBLIC_URL: 'https://switchboard.test',
  PHARMACY_API_KEY: 'pharmacy-key-0123456789abcdef0123456789abcdef',
  PHARMACY_API_TOKEN: 'pharmacy-token',
};

// The first CLI run may build a stale dist/ (npm test builds before vitest; a bare vitest run may not).
describe('check-config', { timeout: 120_000 }, () => {
  it('accepts demo-bank.yaml', () => {
    const result = checkConfig('demo-bank.yaml', BANK_VARIABLES);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('config/examples/demo-bank.yaml: OK (1 bot: demo-bank)\n');
    expect(result.status).toBe(0);
  });

  it('accepts voice-menu.yaml', () => {
    const result = checkConfig('voice-menu.yaml', PHARMACY_VARIABLES);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('config/examples/voice-menu.yaml: OK (1 bot: refill-line)\n');
    expect(result.status).toBe(0);
  });
});

describe('demo-bank.yaml', () => {
  const WELCOME = 'Welcome to Demo Bank.';
  const PROMPT = 'What would you like to do?';
  const MENU = `${PROMPT}\n1. Your balance\n2. Your last payment\n3. Sign in by link (no password in the chat)`;
  const SPOKEN = `${PROMPT} Press 1 for Your balance. Press 2 for Your last payment. Press 3 for Sign in by link.`;
  const RETRY = "That's not one of the options.";
  const NOT_AN_OPTION = 'Sorry, that is not an option. Goodbye.';
  let bank: Awaited<ReturnType<typeof startDemoBank>>;
  let h: DialogHarness;

  beforeAll(async () => {
    bank = await startDemoBank({ port: 0 });
    // The example file as shipped, beside a file with the fake Twilio API (a directory is merged).
    h = await startDialogHarness({
      files: (twilioUrl) => ({
        'demo-bank.yaml': example('demo-bank.yaml'),
        'twilio.yaml': twilioYaml(twilioUrl),
      }),
      variables: { ...BANK_VARIABLES, DEMO_BANK_PORT: String(bank.port) },
      label: 'demo-bank',
    });
  });
  afterAll(async () => {
    await h?.close();
    await bank?.close();
  });

  it('SMS: the menu as a numbered list, two invalid choices told so, the third ends with the invalid text', async () => {
    const c = h.sms(undefined, '+15005550006');
    expect(await c.send('hello')).toEqual([WELCOME, MENU]);
    expect(await c.send('4')).toEqual([RETRY, MENU]);
    expect(await c.send('balances')).toEqual([RETRY, MENU]);
    expect(await c.send('12')).toEqual([NOT_AN_OPTION]);
    expect(h.twilio.messagesTo(c.address).every((m) => m.from === '+15005550006')).toBe(true);
  });

  it('SMS: the last payment asks for the member number in messaging words, never "press pound"', async () => {
    const c = h.sms(undefined, '+15005550006');
    await c.send('hello');
    expect(await c.send('Your last payment')).toEqual(['What is your member number?']);
    expect(await c.send('1001')).toEqual(['Enter your four digit PIN.']);
    expect(await c.send('4321')).toEqual(['Your last payment was 42.00 USD to City Power.', 'Goodbye.']);
  });

  it('WhatsApp: the menu as buttons; HELP is the bank help text and repeats the menu; MENU starts over', async () => {
    const c = h.whatsapp(undefined, '+14155238886');
    const [welcome, buttons] = await c.send('hi');
    expect(welcome).toBe(WELCOME);
    const created = h.twilio.contents.at(-1)!;
    expect(buttons).toBe(`[template ${created.sid}]`);
    expect(created.request.types).toEqual({
      'twilio/quick-reply': {
        body: PROMPT,
        actions: [
          { title: 'Your balance', id: 'balance' },
          { title: 'Your last payment', id: 'payment' },
          { title: 'Sign in by link', id: 'link' },
        ],
      },
      'twilio/text': { body: MENU },
    });
    expect(await c.send('help')).toEqual([
      'Demo Bank: reply MENU to start over, LOGOUT to sign out, STOP to opt out.',
      buttons,
    ]);
    expect(await c.send('MENU')).toEqual([WELCOME, buttons]);
    expect(await c.send('7')).toEqual([RETRY, buttons]);
    expect(
      await c.send('Your last payment', {
        MessageType: 'button',
        ButtonText: 'Your last payment',
        ButtonPayload: 'payment',
      }),
    ).toEqual(['What is your member number?']);
  });

  it('voice: "Press 1 for …" on one key, a wrong key told so, no input asked again, then the invalid text', async () => {
    const c = h.call(undefined, '+15005550006');
    const menu = (turn: number) => gather(turn, SPOKEN, { keypad: false, digits: 1 });
    expect(await c.start()).toBe(twiml(say(WELCOME), menu(1)));
    expect(await c.press('5')).toBe(twiml(say(RETRY), menu(2)));
    expect(await c.press('')).toBe(twiml(menu(3)));
    expect(await c.press('0')).toBe(twiml(say(NOT_AN_OPTION), HANGUP));
  });

  it('voice: option 1 signs in on the keypad (member number and PIN) and says the balance', async () => {
    const c = h.call(undefined, '+15005550006');
    await c.start();
    expect(await c.press('1')).toBe(
      twiml(gather(2, 'Enter your member number, then press pound.', { keypad: true })),
    );
    expect(await c.press('1001')).toBe(
      twiml(gather(3, 'Enter your four digit PIN.', { keypad: true, digits: 4 })),
    );
    expect(await c.press('4321')).toBe(
      twiml(
        say('Your balance is 1,234.56 USD.'),
        say(WELCOME),
        gather(4, SPOKEN, { keypad: false, digits: 1 }),
      ),
    );
  });
});

describe('voice-menu.yaml', () => {
  const AMY: VoiceLook = { voice: 'Polly.Amy', language: 'en-GB', gatherTimeout: 7 };
  const WELCOME = 'Thank you for calling Northside Pharmacy. Press star at any time to start over.';
  const MENU =
    'How can we help? Press 1 for a prescription refill. Press 2 for opening hours. Press 3 for a pharmacist.';
  const TEXT_WELCOME = 'Welcome to Northside Pharmacy. Reply MENU at any time to start over.';
  const TEXT_MENU = 'How can we help?\n1. a prescription refill\n2. opening hours\n3. a pharmacist';
  const RETRY = 'Sorry, that is not one of the options.';
  const VOICE_SETTINGS = 'voice=Polly.Amy&amp;language=en-GB';
  /** Put through to the pharmacists' desk, who hear the whisper first. */
  const PHARMACIST =
    say('Putting you through to a pharmacist. Please hold.', AMY) +
    `<Dial action="https://switchboard.test/webhooks/voice/transfer?say=Sorry%2C+no+pharmacist+is+free+right+now.+Please+call+again+later.+Goodbye.&amp;${VOICE_SETTINGS}" method="POST">` +
    `<Number url="https://switchboard.test/webhooks/voice/whisper?say=A+caller+from+the+refill+line.&amp;${VOICE_SETTINGS}" method="POST">+441614960000</Number>` +
    '</Dial>';
  const menu = (turn: number) => gather(turn, MENU, { keypad: false, digits: 1 }, AMY);
  let h: DialogHarness;

  beforeAll(async () => {
    h = await startDialogHarness({
      files: (twilioUrl) => ({
        'voice-menu.yaml': example('voice-menu.yaml'),
        'twilio.yaml': twilioYaml(twilioUrl),
      }),
      variables: PHARMACY_VARIABLES,
      label: 'voice-menu',
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('hours: the pharmacy API is unreachable, so onError says the usual hours and goes back to the menu', async () => {
    const c = h.call(undefined, '+15005550009');
    expect(await c.start()).toBe(twiml(say(WELCOME, AMY), menu(1)));
    expect(await c.press('2')).toBe(
      twiml(
        say('We are usually open from nine to six, Monday to Saturday.', AMY),
        say(WELCOME, AMY),
        menu(2),
      ),
    );
    expect(await c.press('3')).toBe(twiml(PHARMACIST));
  });

  it('refill: seven digits, a secret date of birth (keypad only), then the refill-failed path; * starts over', async () => {
    const c = h.call(undefined, '+15005550009');
    await c.start();
    const rx = gather(
      2,
      'Enter your seven digit prescription number, then press pound.',
      {
        keypad: true,
        digits: 7,
        timeout: 10,
      },
      AMY,
    );
    expect(await c.press('1')).toBe(twiml(rx));
    expect(await c.press('*')).toBe(twiml(say(WELCOME, AMY), menu(3)));
    await c.press('1');
    expect(await c.press('1234567')).toBe(
      twiml(
        gather(
          5,
          'Enter your date of birth as eight digits, day, month and year.',
          { keypad: true, digits: 8 },
          AMY,
        ),
      ),
    );
    expect(await c.press('01021990')).toBe(
      twiml(say('Sorry, we could not process that refill.', AMY), PHARMACIST),
    );
  });

  it('SMS: the same menu as a numbered list, in messaging words; an invalid choice twice ends politely', async () => {
    const c = h.sms(undefined, '+15005550009');
    expect(await c.send('hi')).toEqual([TEXT_WELCOME, TEXT_MENU]);
    expect(await c.send('9')).toEqual([RETRY, TEXT_MENU]);
    expect(await c.send('8')).toEqual([RETRY, TEXT_MENU]);
    expect(await c.send('7')).toEqual(['Sorry, I did not get that. Please call again. Goodbye.']);
  });

  it('SMS: a refill asks for the prescription number without "press pound"', async () => {
    const c = h.sms(undefined, '+15005550009');
    await c.send('hi');
    expect(await c.send('A prescription refill')).toEqual(['What is your seven digit prescription number?']);
  });
});
