// One conversation over the engine and the fake ports: each `send` runs one turn and keeps what it produced.
import type { BotConfig } from '../../../../src/config/index.js';
import type { DialogEngine, DialogState, TurnResult } from '../../../../src/core/dialog.js';
import type { Channel, InboundEvent, InboundKind } from '../../../../src/core/events.js';
import { FakeServices } from './fake-services.js';

export class Conversation {
  state: DialogState | null = null;
  optedOut = false;
  /** The time of the next turn (ms), unless the conversation was given a clock to read. */
  now = 1_700_000_000_000;
  private turnNumber = 0;

  constructor(
    readonly engine: DialogEngine,
    readonly bot: BotConfig,
    readonly channel: Channel = 'sms',
    readonly services = new FakeServices(),
    private readonly clock?: () => number,
  ) {}

  async send(text: string, extra: Partial<InboundEvent> = {}): Promise<TurnResult> {
    const now = this.clock ? this.clock() : this.now;
    const kind: InboundKind =
      this.channel !== 'voice'
        ? 'message'
        : this.turnNumber === 0
          ? 'call.start'
          : text
            ? 'call.input'
            : 'call.noinput';
    const event: InboundEvent = {
      id: `E${this.turnNumber}`,
      kind,
      botId: 'b',
      channel: this.channel,
      identity: `${this.channel}:+12025550100`,
      from: '+12025550100',
      to: '+15005550006',
      provider: { accountSid: 'AC1' },
      text,
      turn: this.turnNumber,
      receivedAt: now,
      ...extra,
    };
    this.turnNumber += 1;
    const ctx = {
      botId: 'b',
      bot: this.bot,
      event,
      now,
      optedOut: this.optedOut,
      services: this.services.ports,
    };
    const result = await this.engine.turn(ctx, this.state);
    this.state = result.state;
    if (result.optOut !== undefined) this.optedOut = result.optOut;
    return result;
  }

  async say(text: string, extra?: Partial<InboundEvent>): Promise<string[]> {
    return (await this.send(text, extra)).output.replies.map((r) => r.text);
  }
}
