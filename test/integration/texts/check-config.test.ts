// `switchboard check-config` on a bot's texts and locale, as an operator runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botYaml, configVariables, testConfigYaml, writeConfigFile } from '../../support/config.js';
import { ensureBuilt, runCli } from '../../support/processes.js';

const HINT = 'The texts and their defaults are listed in docs/configuration.md.';

describe('switchboard check-config on texts', () => {
  const files: { remove: () => Promise<void> }[] = [];
  beforeAll(() => ensureBuilt());
  afterAll(async () => {
    for (const f of files) await f.remove();
  });

  it('flags a misspelt text with the name it meant, and a locale without texts with the list', async () => {
    const yaml = testConfigYaml({
      bots: botYaml(
        'hola',
        `    locale: pt-BR
    texts:
      wrongPasword: "Datos incorrectos."
    flows:
      main:
        - say: "Hola."`,
      ),
    });
    const file = await writeConfigFile(yaml);
    files.push(file);
    const lineOf = (text: string) => yaml.split('\n').findIndex((l) => l.includes(text)) + 1;
    const ran = await runCli(['check-config', file.path], configVariables());
    expect(ran.code).toBe(1);
    expect(ran.stderr.trim().split('\n')).toEqual([
      `${file.path}:${lineOf('locale:')}: bots.hola.locale: there are no texts for locale "pt-BR". ` +
        'Hint: use one of en, es (a tag such as "es-ES" uses the texts of its language).',
      `${file.path}:${lineOf('wrongPasword')}: bots.hola.texts.wrongPasword: there is no text named "wrongPasword". ` +
        `Hint: did you mean wrongPassword? ${HINT}`,
      '2 problems found.',
    ]);
  });

  it('says OK to the Spanish example bot', async () => {
    const ran = await runCli(['check-config', 'config/examples/spanish-bot.yaml'], {
      PUBLIC_URL: 'https://switchboard.test',
      CLINIC_API_KEY: 'clinic-key-0123456789abcdef0123456789abcdef',
    });
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toBe('config/examples/spanish-bot.yaml: OK (1 bot: citas)\n');
    expect(ran.code).toBe(0);
  });
});
