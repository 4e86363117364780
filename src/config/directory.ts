// Lookups over the loaded configuration: which bot serves a number on a channel.
import type { BotConfig, Config } from './index.js';
import type { Channel } from '../core/events.js';

export interface BotRef {
  id: string;
  bot: BotConfig;
}

export class Directory {
  private readonly byNumber = new Map<string, BotRef>();

  constructor(
    readonly config: Config,
    /** Sandbox mode: one token signs every webhook, and replies are recorded instead of sent. */
    readonly sandbox: { authToken: string } | undefined,
  ) {
    for (const [id, bot] of Object.entries(config.bots)) {
      // The channels a bot has numbers on are the registry's (the config's `numbers` has one key each).
      for (const [channel, numbers] of Object.entries(bot.numbers)) {
        for (const number of numbers) this.byNumber.set(`${channel}:${number}`, { id, bot });
      }
    }
  }

  bot(id: string): BotConfig | undefined {
    return Object.hasOwn(this.config.bots, id) ? this.config.bots[id] : undefined;
  }

  /** A bot by id, for a channel that addresses bots by id rather than by number. */
  ref(id: string): BotRef | undefined {
    const bot = this.bot(id);
    return bot ? { id, bot } : undefined;
  }

  botFor(channel: Channel, number: string): BotRef | undefined {
    return this.byNumber.get(`${channel}:${number}`);
  }

  get publicUrl(): string {
    return this.config.server.publicUrl;
  }
}
