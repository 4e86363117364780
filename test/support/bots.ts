// Bots several backbone tests share, as `bots:` YAML sections for `startHarness`.
import { botYaml } from './config.js';

/** Answers every message with "got <message>", on SMS and WhatsApp: the order of replies shows the order of turns. */
export const ECHO_BOT = botYaml(
  'echo',
  `    flows:
      main:
        - ask: { prompt: "got {{input}}", save: last }
        - goto: main`,
);
