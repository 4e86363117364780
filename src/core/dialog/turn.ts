// One turn's working set: the state being changed, the replies, what was learned along the way.
import { DialogError } from '../errors.js';
import type { InboundEvent, Reply, Transfer } from '../events.js';
import type { DialogServices } from '../ports.js';
import type { Clock } from '../ports/clock.js';
import type { OperatorEventType } from '../ports/operator-events.js';
import type { CachedToken } from '../ports/tokens.js';
import type { UserView } from '../ports/users.js';
import type { TemplateContext, Templates } from '../templates.js';
import type { DialogBot, StepConfig } from './bot.js';
import type { DialogState } from './state.js';

export interface TurnContext {
  botId: string;
  bot: DialogBot;
  event: InboundEvent;
  now: number;
  optedOut: boolean;
  services: DialogServices;
}

/** What a turn renders and times with; the engine's, shared by its turns. */
export interface TurnTools {
  templates: Templates;
  clock: Clock;
}

const USES_USER = /\buser\b/;

export class Turn {
  readonly replies: Reply[] = [];
  /** Tokens fetched or obtained during this turn, by component. */
  readonly tokens = new Map<string, CachedToken>();
  /** `{{authtoken}}`: the token of the component the current step uses. */
  authtoken: string | undefined;
  userView: UserView | undefined;
  optOut: boolean | undefined;
  carriedSecret = false;

  constructor(
    readonly ctx: TurnContext,
    public state: DialogState,
    readonly tools: TurnTools,
  ) {}

  get services(): DialogServices {
    return this.ctx.services;
  }

  /** Texts for the caller's number, on a call (a sign-in link); secret, like every text sent this way. */
  readonly texts: { text: string }[] = [];

  /** On a call: where a `handoff` step transfers it. */
  transfer: Transfer | undefined;

  say(text: string, opts: { secret?: boolean } = {}): void {
    if (text.trim() !== '') this.replies.push({ text, ...(opts.secret ? { secret: true } : {}) });
  }

  /** Whether the conversation is a call (its answers come from the keypad or speech). */
  get onCall(): boolean {
    return this.ctx.event.kind.startsWith('call.');
  }

  ask(text: string, ask: NonNullable<Reply['ask']>): void {
    this.replies.push({ text, ask });
  }

  async user(): Promise<UserView> {
    this.userView ??= await this.ctx.services.user();
    return this.userView;
  }

  emit(type: OperatorEventType, data?: Record<string, unknown>): void {
    this.ctx.services.emit(type, data, this.userView?.id);
  }

  /** The step the state points at, as written in the bot's flows. */
  stepAt(): StepConfig | undefined {
    return this.ctx.bot.flows[this.state.flow]?.[this.state.step];
  }

  jump(flow: string): void {
    if (!Object.hasOwn(this.ctx.bot.flows, flow)) throw new DialogError(`flow ${flow} does not exist`);
    this.state.flow = flow;
    this.state.step = 0;
    this.state.pending = undefined;
  }

  /** Moves past the step that asked: its question is answered (or given up on). */
  advance(): 'next' {
    this.state.pending = undefined;
    this.state.step += 1;
    return 'next';
  }

  /** Renders text; the user is looked up only when the template mentions them. */
  async render(template: string, extra: Record<string, unknown> = {}): Promise<string> {
    const ctx = { ...this.baseContext(), ...extra };
    if (USES_USER.test(template)) ctx.user = userContext(await this.user());
    return this.tools.templates.text(template, ctx);
  }

  /** Template variables for a request; `user` is looked up only for turns whose templates need it. */
  async context(token?: CachedToken): Promise<TemplateContext> {
    const user = await this.user();
    return {
      ...this.baseContext(),
      ...(token?.extra ?? {}),
      authtoken: token?.token ?? this.authtoken ?? '',
      user: userContext(user),
    };
  }

  private baseContext(): TemplateContext {
    return {
      ...this.state.vars,
      input: this.carriedSecret ? '' : this.ctx.event.text, // a secret answer is never rendered back
      channel: this.ctx.event.channel,
      from: this.ctx.event.identity,
      bot: this.ctx.botId,
    };
  }
}

function userContext(u: UserView): Record<string, string> {
  return { id: u.id, tier: u.tier, name: u.name ?? '', email: u.email ?? '', externalId: u.externalId ?? '' };
}
