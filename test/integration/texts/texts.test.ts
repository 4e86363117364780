// Engine texts per bot: a Spanish bot says the Spanish defaults (in Spanish on calls too), an operator's
// text wins, a voice variant is said on calls only, and a wrong answer is told so before the question again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuthService, type FakeAuthService } from '../../fakes/auth-service.js';
import { manualClock } from '../../support/clock.js';
import { account } from '../auth/helpers.js';
import {
  botOn,
  gather,
  HANGUP,
  say,
  startDialogHarness,
  twiml,
  type DialogHarness,
  type VoiceLook,
} from '../dialog/helpers.js';

const SPANISH = { sms: '+15005550041', voice: '+15005550042' };
const ENGLISH = { sms: '+15005550043', voice: '+15005550044' };
const ES: VoiceLook = { voice: 'Polly.Lucia', language: 'es-ES', gatherTimeout: 5 };

const MENU = '        - ask: { prompt: "PROMPT", save: pick, keypad: true, digits: 1, pattern: "^[12]$" }';

function spanishBot(bank: string): string {
  return botOn(
    'banco',
    `    locale: es
    auth:
      acceso:
        type: login
        url: ${bank}/auth/token
        fields:
          - { name: username, prompt: "¿Tu usuario?" }
          - { name: password, prompt: "¿Tu contraseña?", secret: true }
        token: { path: access_token }
        ttl: 600
        userIdPath: user.id
        maxAttempts: 3
        lockout: 60
    flows:
      main:
        - switch: { value: "{{channel}}", cases: { voice: menu } }
        - auth: acceso
        - end: "Hola."
      menu:
${MENU.replace('PROMPT', 'Pulsa 1 o 2.')}
        - end: "Has elegido {{pick}}."`,
    SPANISH,
  );
}

const ENGLISH_BOT = botOn(
  'shop',
  `    texts:
      retry: "Not quite."
      askInvalid: "Out of tries."
      voice:
        retry: "Not quite. Use the keypad."
    flows:
      main:
${MENU.replace('PROMPT', 'Pick 1 or 2.')}
        - end: "You picked {{pick}}."`,
  ENGLISH,
);

let bank: FakeAuthService;
let h: DialogHarness;

beforeAll(async () => {
  bank = await startFakeAuthService([account('ana')]);
  h = await startDialogHarness({
    bots: [spanishBot(bank.url), ENGLISH_BOT].join('\n'),
    allowHosts: ['127.0.0.1'],
    label: 'texts',
    clock: manualClock(),
  });
});

afterAll(async () => {
  await h?.close();
  await bank?.close();
});

describe('a Spanish bot (locale: es)', () => {
  it('says the Spanish wrong-password text, the attempts left on the last try, then the lockout', async () => {
    const c = h.sms(undefined, SPANISH.sms);
    expect(await c.send('hola')).toEqual(['¿Tu usuario?']);
    expect(await c.send('ana')).toEqual(['¿Tu contraseña?']);
    expect(await c.send('mal-1')).toEqual([
      'Lo siento, esos datos no coinciden. Vamos a intentarlo de nuevo.',
      '¿Tu usuario?',
    ]);
    expect(await c.send('ana')).toEqual(['¿Tu contraseña?']);
    expect(await c.send('mal-2')).toEqual([
      'Lo siento, esos datos no coinciden. Vamos a intentarlo de nuevo.',
      'Te queda 1 intento antes de que se bloquee tu cuenta.',
      '¿Tu usuario?',
    ]);
    expect(await c.send('ana')).toEqual(['¿Tu contraseña?']);
    expect(await c.send('mal-3')).toEqual([
      'Demasiados intentos fallidos. Inténtalo de nuevo dentro de 1 minuto.',
    ]);
    expect(await c.send('hola')).toEqual([
      'Demasiados intentos fallidos. Inténtalo de nuevo dentro de 1 minuto.',
    ]);
  });

  it('speaks in es-ES with the Spanish voice, and a wrong key is told so in Spanish before the question', async () => {
    const call = h.call(undefined, SPANISH.voice);
    expect(await call.start()).toBe(twiml(gather(1, 'Pulsa 1 o 2.', { keypad: true, digits: 1 }, ES)));
    expect(await call.press('7')).toBe(
      twiml(
        say('Lo siento, eso no parece correcto.', ES),
        gather(2, 'Pulsa 1 o 2.', { keypad: true, digits: 1 }, ES),
      ),
    );
    expect(await call.press('2')).toBe(twiml(say('Has elegido 2.', ES), HANGUP));
  });

  it('answers HELP and who-am-I in Spanish, then asks the pending question again', async () => {
    const c = h.sms(undefined, SPANISH.sms);
    await c.send('hola');
    expect(await c.send('HELP')).toEqual([
      'Responde MENU para empezar de nuevo o STOP para darte de baja.',
      '¿Tu usuario?',
    ]);
    expect(await c.send('who am I')).toEqual(['Todavía no te conozco.', '¿Tu usuario?']);
  });
});

describe('an English bot with texts of its own', () => {
  it('on SMS: the retry text it wrote, then the question; its own give-up text at the end', async () => {
    const c = h.sms(undefined, ENGLISH.sms);
    expect(await c.send('hi')).toEqual(['Pick 1 or 2.']);
    expect(await c.send('3')).toEqual(['Not quite.', 'Pick 1 or 2.']);
    expect(await c.send('x')).toEqual(['Not quite.', 'Pick 1 or 2.']);
    expect(await c.send('9')).toEqual(['Out of tries.']);
  });

  it('on a call: the voice variant of the retry text, in the default English voice', async () => {
    const call = h.call(undefined, ENGLISH.voice);
    expect(await call.start()).toBe(twiml(gather(1, 'Pick 1 or 2.', { keypad: true, digits: 1 })));
    expect(await call.press('5')).toBe(
      twiml(say('Not quite. Use the keypad.'), gather(2, 'Pick 1 or 2.', { keypad: true, digits: 1 })),
    );
    expect(await call.press('1')).toBe(twiml(say('You picked 1.'), HANGUP));
  });
});
