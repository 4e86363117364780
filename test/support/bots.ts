// Bots several backbone tests share, as `bots:` YAML sections for `startHarness`.
import { botYaml } from './config.js';

/**
 * Answers every message with "got <message>", on SMS and WhatsApp: the order of replies shows the order
 * of turns. Its rate limit is far above what tests send (50 messages a minute would trip the default).
 */
export const ECHO_BOT = botYaml(
  'echo',
  `    rateLimit: { messagesPerMinute: 100000 }
    flows:
      main:
        - ask: { prompt: "got {{input}}", save: last }
        - goto: main`,
);
