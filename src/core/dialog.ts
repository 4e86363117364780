// The dialog engine: runs a bot's flows one turn at a time over state that is plain data.
import type { BotConfig, Step } from '../config/index.js';
import type { InboundEvent, Reply, TurnOutput } from './events.js';
import type { TemplateContext, Templates } from './templates.js';
import { DialogError } from './errors.js';

/** A pending `ask`: the step index in `flow` points at it. */
export interface PendingAsk {
  kind: 'ask';
  /** Invalid answers (or silences on voice) so far. */
  misses: number;
}

/**
 * A conversation's dialog state: stored data, never timers or closures. It is sealed (encrypted)
 * as a whole before it rests in Redis, since variables may hold what the user typed.
 */
export interface DialogState {
  flow: string;
  step: number;
  vars: Record<string, unknown>;
  pending?: PendingAsk;
  /** Absolute time (ms) after which the conversation starts over at `main`. */
  expiresAt: number;
}

export interface TurnResult {
  /** The state to keep, or null when the conversation is over. */
  state: DialogState | null;
  output: TurnOutput;
}

/** What a turn knows besides the bot and the event: who the user is, etc. */
export interface TurnContext {
  botId: string;
  bot: BotConfig;
  event: InboundEvent;
  now: number;
}

/** Steps run per turn before the engine concludes a flow loops forever (goto cycles). */
const MAX_STEPS_PER_TURN = 200;

export interface DialogEngineOptions {
  templates: Templates;
}

export class DialogEngine {
  private readonly templates: Templates;

  constructor(options: DialogEngineOptions) {
    this.templates = options.templates;
  }

  /** Handles one inbound event and says what to reply and what state to keep. */
  async turn(ctx: TurnContext, previous: DialogState | null): Promise<TurnResult> {
    const { event, bot, now } = ctx;
    const out = new TurnWriter();
    if (event.kind === 'call.end') return { state: null, output: out.done(false) };

    const live = previous && previous.expiresAt > now && event.kind !== 'call.start' ? previous : null;
    let state: DialogState;
    if (!live || !live.pending) {
      // The first message of a conversation starts `main`; its text is `{{input}}` but answers nothing.
      state = { flow: 'main', step: 0, vars: { input: event.text }, expiresAt: 0 };
    } else {
      state = { ...live, vars: { ...live.vars, input: event.text } };
      const answered = this.answer(ctx, state, out);
      if (answered === 'ended') return { state: null, output: out.done(true) };
    }
    const ended = await this.run(ctx, state, out);
    if (ended) return { state: null, output: out.done(true) };
    state.expiresAt = now + bot.sessionTimeout * 1000;
    return { state, output: out.done(false) };
  }

  /** Applies the event as the answer to the pending ask; re-prompts or gives up on a bad one. */
  private answer(ctx: TurnContext, state: DialogState, out: TurnWriter): 'next' | 'asked' | 'ended' {
    const step = this.stepAt(ctx.bot, state);
    if (!step || !('ask' in step)) {
      state.pending = undefined;
      return 'next';
    }
    const ask = step.ask;
    const input = ctx.event.kind === 'call.noinput' ? undefined : ctx.event.text.trim();
    if (input !== undefined && validAnswer(ask, input)) {
      state.vars[ask.save] = input;
      state.pending = undefined;
      state.step += 1;
      return 'next';
    }
    const misses = (state.pending?.misses ?? 0) + 1;
    if (misses > ask.retries) {
      out.say(this.render(ask.invalid, ctx, state));
      return 'ended';
    }
    state.pending = { kind: 'ask', misses };
    return 'asked';
  }

  /** Runs steps from the current position until the flow waits for an answer or ends. */
  private async run(ctx: TurnContext, state: DialogState, out: TurnWriter): Promise<boolean> {
    for (let count = 0; count < MAX_STEPS_PER_TURN; count++) {
      const step = this.stepAt(ctx.bot, state);
      if (!step) return true; // the flow ran out of steps: the conversation is over
      if ('say' in step) {
        out.say(this.render(step.say, ctx, state));
      } else if ('ask' in step) {
        const ask = step.ask;
        out.ask(this.render(ask.prompt, ctx, state), {
          keypad: ask.keypad || ask.secret,
          secret: ask.secret,
          ...(ask.digits !== undefined ? { digits: ask.digits } : {}),
          ...(ask.timeout !== undefined ? { timeout: ask.timeout } : {}),
        });
        state.pending = { kind: 'ask', misses: state.pending?.misses ?? 0 };
        return false;
      } else if ('goto' in step) {
        this.jump(ctx, state, step.goto);
        continue;
      } else if ('end' in step) {
        if (step.end) out.say(this.render(step.end, ctx, state));
        return true;
      } else if ('set' in step) {
        for (const [name, template] of Object.entries(step.set))
          state.vars[name] = this.render(template, ctx, state);
      } else if ('switch' in step) {
        const value = this.render(step.switch.value, ctx, state);
        const target = Object.hasOwn(step.switch.cases, value)
          ? step.switch.cases[value]
          : step.switch.default;
        if (target) {
          this.jump(ctx, state, target);
          continue;
        }
      } else {
        throw new DialogError(`step ${Object.keys(step)[0]} is not supported yet`);
      }
      state.step += 1;
    }
    throw new DialogError(`flow ${state.flow} ran ${MAX_STEPS_PER_TURN} steps without waiting: a goto loop?`);
  }

  private jump(ctx: TurnContext, state: DialogState, flow: string): void {
    if (!ctx.bot.flows[flow]) throw new DialogError(`flow ${flow} does not exist`);
    state.flow = flow;
    state.step = 0;
    state.pending = undefined;
  }

  private stepAt(bot: BotConfig, state: DialogState): Step | undefined {
    return bot.flows[state.flow]?.[state.step];
  }

  private render(template: string, ctx: TurnContext, state: DialogState): string {
    return this.templates.text(template, templateContext(ctx, state));
  }
}

function validAnswer(ask: { keypad: boolean; digits?: number; pattern?: string }, input: string): boolean {
  if (input === '') return false;
  if (ask.keypad && !/^[0-9]+$/.test(input)) return false;
  if (ask.digits !== undefined && input.length !== ask.digits) return false;
  if (ask.pattern !== undefined && !compiledPattern(ask.pattern).test(input)) return false;
  return true;
}

const patterns = new Map<string, RegExp>();
function compiledPattern(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) {
    re = new RegExp(source);
    patterns.set(source, re);
  }
  return re;
}

export function templateContext(ctx: TurnContext, state: DialogState): TemplateContext {
  return {
    ...state.vars,
    channel: ctx.event.channel,
    from: ctx.event.identity,
    bot: ctx.botId,
  };
}

/** Collects a turn's replies in order. */
class TurnWriter {
  private readonly replies: Reply[] = [];

  say(text: string): void {
    if (text.trim() !== '') this.replies.push({ text });
  }

  ask(text: string, ask: NonNullable<Reply['ask']>): void {
    this.replies.push({ text, ask });
  }

  done(hangup: boolean): TurnOutput {
    return { replies: this.replies, hangup };
  }
}
