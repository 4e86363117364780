// A bot's named WhatsApp templates: read with their variables, and what check-config says of bad ones.
import { describe, expect, it } from 'vitest';
import { formatProblems, parseConfigText } from '../../../src/config/index.js';
import { checkConfigText } from '../../../src/config/load.js';
import { problemsOf } from './helpers.js';

const SID = 'HX0123456789abcdef0123456789abcdef';

function file(
  templates: string,
  numbers = 'numbers: { whatsapp: ["+14155238886"] }',
): { file: string; text: string }[] {
  return [
    {
      file: 'templates.yaml',
      text: `server:
  publicUrl: https://gw.example.com
workspaces:
  acme:
    apiKeys: [key-1-0123456789abcdef0123456789abcdef]
bots:
  bank:
    workspace: acme
    ${numbers}
    whatsappTemplate: { contentSid: ${SID} }
    templates:
${templates}
    flows:
      main:
        - say: Hello
`,
    },
  ];
}

describe('templates', () => {
  it('are read by name, with their variables in order (none when left out)', () => {
    const config = parseConfigText(
      file(`      ready: { contentSid: ${SID}, variables: ["1", "2"] }\n      hello: { contentSid: ${SID} }`),
      {},
    );
    expect(config.bots.bank!.templates).toEqual({
      ready: { contentSid: SID, variables: ['1', '2'] },
      hello: { contentSid: SID, variables: [] },
    });
  });

  it('refuse a Content SID that is not one, a variable listed twice, an unknown key', () => {
    expect(
      problemsOf(
        file(
          `      ready: { contentSid: HX12, variables: [name, name] }\n      other: { contentSid: ${SID}, vars: [a] }`,
        ),
      ).split('\n'),
    ).toEqual([
      'templates.yaml:12: bots.bank.templates.ready.contentSid: is not a Content SID. Hint: copy the template\'s SID from the Twilio console (Content Template Builder): "HX" and 32 hex digits.',
      'templates.yaml:12: bots.bank.templates.ready.variables: variable "name" is listed twice. Hint: list each of the template\'s variables once.',
      'templates.yaml:13: bots.bank.templates.other.vars: unknown key "vars". Hint: Valid keys: contentSid, variables.',
    ]);
  });

  it('on a bot without a WhatsApp number: a warning', () => {
    const { warnings } = checkConfigText(
      file(`      ready: { contentSid: ${SID} }`, 'numbers: { sms: ["+15005550006"] }'),
      {},
    );
    expect(formatProblems(warnings)).toBe(
      'templates.yaml:11: bots.bank.templates: warning: the bot has templates but no WhatsApp number: templates are sent on WhatsApp only. Hint: add the WhatsApp sender under numbers.whatsapp, or remove templates.',
    );
  });
});
