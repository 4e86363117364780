// The engine's texts: locales and their resolution, a bot's own texts and voice variants, check-config's word on them.
import { describe, expect, it } from 'vitest';
import { voiceAdapter, voiceSettings } from '../../../channels/voice/voice.adapter.js';
import { BotSchema, formatProblems } from '../../../src/config/index.js';
import { checkConfigText } from '../../../src/config/load.js';
import {
  DialogEngine,
  LOCALES,
  LOCALE_NAMES,
  TEXT_NAMES,
  resolveLocale,
  resolveTexts,
} from '../../../src/core/dialog.js';
import { Templates } from '../../../src/core/templates.js';
import { problemsOf } from '../config/helpers.js';
import { Conversation } from './support/conversation.js';

const templates = new Templates();
const engine = new DialogEngine({ templates, clock: { now: () => Date.now(), sleep: async () => {} } });

function configYaml(bot: string): string {
  return [
    'server: { publicUrl: "https://gateway.example.com" }',
    'workspaces: { w: { apiKeys: ["0123456789abcdef0123456789abcdef"] } }',
    'bots:',
    '  b:',
    '    workspace: w',
    bot.replace(/\s+$/, ''),
    '    flows: { main: [{ say: "Hi." }] }',
    '',
  ].join('\n');
}

describe('locales', () => {
  it('a language tag uses its own file or its language’s: es-ES → es, EN-us → en, es_MX → es; fr has none', () => {
    expect(resolveLocale('es')).toBe('es');
    expect(resolveLocale('es-ES')).toBe('es');
    expect(resolveLocale('es_MX')).toBe('es');
    expect(resolveLocale('EN-us')).toBe('en');
    expect(resolveLocale('fr')).toBeUndefined();
    expect(resolveLocale('fr-FR')).toBeUndefined();
    expect(LOCALE_NAMES).toEqual(['en', 'es']);
  });

  it('every locale has every text, and each renders with its parameters', () => {
    const params = { minutes: 2, left: 2, who: 'You are Ana.' };
    for (const name of LOCALE_NAMES) {
      const locale = LOCALES[name];
      expect(Object.keys(locale.text)).toEqual(TEXT_NAMES);
      for (const text of [...Object.values(locale.text), ...Object.values(locale.voice)]) {
        const rendered = templates.text(text, params);
        expect(rendered).not.toMatch(/[{}%]/);
        expect(rendered.trim()).not.toBe('');
      }
    }
  });

  it('counts agree with their number in both languages', () => {
    const render = (locale: 'en' | 'es', name: 'locked' | 'attemptsLeft', n: number) =>
      templates.text(LOCALES[locale].text[name], { minutes: n, left: n });
    expect(render('en', 'locked', 1)).toBe('Too many failed attempts. Please try again in 1 minute.');
    expect(render('en', 'locked', 15)).toBe('Too many failed attempts. Please try again in 15 minutes.');
    expect(render('es', 'locked', 1)).toBe(
      'Demasiados intentos fallidos. Inténtalo de nuevo dentro de 1 minuto.',
    );
    expect(render('es', 'locked', 15)).toBe(
      'Demasiados intentos fallidos. Inténtalo de nuevo dentro de 15 minutos.',
    );
    expect(render('en', 'attemptsLeft', 1)).toBe('1 attempt left before your account is locked.');
    expect(render('en', 'attemptsLeft', 2)).toBe('2 attempts left before your account is locked.');
    expect(render('es', 'attemptsLeft', 1)).toBe('Te queda 1 intento antes de que se bloquee tu cuenta.');
    expect(render('es', 'attemptsLeft', 2)).toBe('Te quedan 2 intentos antes de que se bloquee tu cuenta.');
  });
});

describe('a bot’s texts, resolved once at load', () => {
  it('its own text wins on every channel; its voice variant wins on calls; the locale’s voice wording only where it wrote nothing', () => {
    const texts = resolveTexts('en', {
      optedIn: 'Welcome back.',
      retry: 'Nope.',
      voice: { retry: 'Nope, press again.' },
    });
    expect(texts.text.optedIn).toBe('Welcome back.');
    expect(texts.voice.optedIn).toBe('Welcome back.');
    expect(texts.text.retry).toBe('Nope.');
    expect(texts.voice.retry).toBe('Nope, press again.');
    expect(texts.text.help).toBe('Reply MENU to start over, STOP to opt out.');
    expect(texts.voice.help).toBe('Press star to start over.');
    expect(texts.voice.wrongPassword).toBe(texts.text.wrongPassword);
  });

  it('locale es gives the Spanish voice and language; a Spanish voice.language alone chooses es; either may be set', () => {
    const parse = (yaml: object) =>
      BotSchema.parse({ workspace: 'w', flows: { main: [{ say: 'x' }] }, ...yaml });
    const spanish = parse({ locale: 'es' });
    expect(spanish.locale).toBe('es');
    expect(spanish.voice).toMatchObject({
      language: 'es-ES',
      voice: 'Polly.Lucia',
      holdMessage: 'Un momento, por favor.',
    });
    expect(spanish.help).toBe('Responde MENU para empezar de nuevo o STOP para darte de baja.');
    expect(spanish.rateLimit.reply).toBe(
      'Estás enviando mensajes demasiado rápido. Espera un minuto, por favor.',
    );
    expect(parse({ locale: 'es-ES' }).locale).toBe('es');
    const mexican = parse({ voice: { language: 'es-MX', voice: 'Polly.Mia' } });
    expect(mexican.locale).toBe('es');
    expect(mexican.voice).toMatchObject({ language: 'es-MX', voice: 'Polly.Mia' });
    const english = parse({});
    expect(english.locale).toBe('en');
    expect(english.voice).toMatchObject({
      language: 'en-US',
      voice: 'Polly.Joanna',
      holdMessage: 'One moment please.',
    });
  });

  it('help, voice.holdMessage and rateLimit.reply are the texts help, holdMessage and rateLimited; texts: wins', () => {
    const bot = BotSchema.parse({
      workspace: 'w',
      help: 'Old help.',
      voice: { holdMessage: 'Hold on.' },
      rateLimit: { reply: 'Slow down.' },
      texts: { help: 'New help.' },
      flows: { main: [{ say: 'x' }] },
    });
    expect([bot.help, bot.voice.holdMessage, bot.rateLimit.reply]).toEqual([
      'New help.',
      'Hold on.',
      'Slow down.',
    ]);
    expect(bot.texts.voice.help).toBe('New help.');
  });

  it('a Spanish bot holds and apologises on a call in Spanish, in es-ES with its voice', () => {
    const bot = BotSchema.parse({ workspace: 'w', locale: 'es', flows: { main: [{ say: 'x' }] } });
    const settings = voiceSettings(bot);
    const say = '<Say voice="Polly.Lucia" language="es-ES">';
    expect(voiceAdapter.holdTwiml({ publicUrl: 'https://g.example.com', turn: 1, hold: 0, settings })).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Response>${say}Un momento, por favor.</Say><Pause length="1"/>` +
        '<Redirect method="POST">https://g.example.com/webhooks/voice/result?turn=1&amp;hold=1</Redirect></Response>',
    );
    expect(voiceAdapter.apologyTwiml(settings)).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Response>${say}` +
        'Lo siento, algo ha fallado por nuestra parte. Vuelve a llamar más tarde. Adiós.</Say><Hangup/></Response>',
    );
  });

  it('the engine says the bot’s text on SMS and its voice variant on a call', async () => {
    const bot = BotSchema.parse({
      workspace: 'w',
      texts: { retry: 'Reply 1 or 2.', voice: { retry: 'Press 1 or 2.' } },
      flows: { main: [{ ask: { prompt: 'Which?', save: 'pick', keypad: true, pattern: '^[12]$' } }] },
    });
    const sms = new Conversation(engine, bot);
    expect(await sms.say('hi')).toEqual(['Which?']);
    expect(await sms.say('3')).toEqual(['Reply 1 or 2.', 'Which?']);
    const call = new Conversation(engine, bot, 'voice');
    expect(await call.say('')).toEqual(['Which?']);
    expect(await call.say('3')).toEqual(['Press 1 or 2.', 'Which?']);
  });
});

describe('check-config on texts and locale', () => {
  it('names an unknown text and the one it was probably meant to be', () => {
    expect(problemsOf([{ file: 'c.yaml', text: configYaml('    texts:\n      wrongPasword: "No."') }])).toBe(
      'c.yaml:7: bots.b.texts.wrongPasword: there is no text named "wrongPasword". Hint: did you mean wrongPassword? ' +
        'The texts and their defaults are listed in docs/configuration.md.',
    );
    expect(
      problemsOf([
        { file: 'c.yaml', text: configYaml('    texts:\n      voice: { retyr: "No.", zzzzzz: "?" }') },
      ]),
    ).toBe(
      'c.yaml:7: bots.b.texts.voice.retyr: there is no text named "retyr". Hint: did you mean retry? ' +
        'The texts and their defaults are listed in docs/configuration.md.\n' +
        'c.yaml:7: bots.b.texts.voice.zzzzzz: there is no text named "zzzzzz". Hint: ' +
        'The texts and their defaults are listed in docs/configuration.md.',
    );
  });

  it('refuses a locale it has no texts for, listing those it has', () => {
    expect(problemsOf([{ file: 'c.yaml', text: configYaml('    locale: fr-FR') }])).toBe(
      'c.yaml:6: bots.b.locale: there are no texts for locale "fr-FR". Hint: use one of en, es ' +
        '(a tag such as "es-ES" uses the texts of its language).',
    );
  });

  it('warns of a call language without texts when no locale is said; locale: en says English is meant', () => {
    const warnings = (bot: string) =>
      formatProblems(checkConfigText([{ file: 'c.yaml', text: configYaml(bot) }], {}).warnings);
    expect(warnings('    voice: { language: fr-FR, voice: Polly.Lea }')).toBe(
      'c.yaml:6: bots.b.voice.language: warning: there are no built-in texts for "fr-FR", so the engine\'s own texts ' +
        'are English. Hint: write them under texts:, and set locale: en to say that English is meant.',
    );
    expect(warnings('    locale: en\n    voice: { language: fr-FR, voice: Polly.Lea }')).toBe('');
    expect(warnings('    voice: { language: es-MX }')).toBe('');
  });

  it('checks each text as a Liquid template: its parameters are known, a misspelt one is a warning', () => {
    expect(
      problemsOf([{ file: 'c.yaml', text: configYaml('    texts:\n      locked: "Wait {{ minutes "') }]),
    ).toMatch(/^c\.yaml:7: bots\.b\.texts\.locked: not a valid Liquid template: /);
    const { warnings } = checkConfigText(
      [
        {
          file: 'c.yaml',
          text: configYaml(
            '    texts:\n      locked: "Wait {{ minutes }} min."\n      voice:\n        attemptsLeft: "{{ lefts }} left."',
          ),
        },
      ],
      {},
    );
    expect(formatProblems(warnings)).toBe(
      'c.yaml:9: bots.b.texts.voice.attemptsLeft: warning: {{lefts}} is not a variable this bot sets, so it renders empty. ' +
        'Hint: did you mean "left"? Variables: input, authtoken, user, channel, from, bot, auth_id, auth_code, left.',
    );
  });
});
