// The dialog engine: runs a bot's flows one turn at a time over state that is plain data.
import { DialogError } from '../errors.js';
import { channelKeywords, detectKeyword, type Keyword } from '../keywords.js';
import type { Clock } from '../ports/clock.js';
import type { Templates } from '../templates.js';
import type { DialogBot } from './bot.js';
import {
  CREDENTIAL,
  RESUME,
  credentialAnswer,
  credentialReprompt,
  credentialSecret,
  type CredentialPending,
} from './credentials.js';
import {
  SIGNIN,
  awaitedSignIn,
  signInAnswer,
  signInReprompt,
  signInSecret,
  type SignInPending,
} from './sign-in.js';
import { HANDOFF, agentReply, resumeBot, whileHandedOff } from './steps/handoff.js';
import { stepParts, type AnswerOutcome, type AnyStepDefinition, type StepRegistry } from './step.js';
import { STEPS } from './steps/index.js';
import { freshState, type DialogState, type Flow, type Pending, type TurnResult } from './state.js';
import { minutesOf, text } from './text.js';
import { Turn, type TurnContext } from './turn.js';

/** Steps run per turn before the engine concludes a flow loops forever (goto cycles). */
const MAX_STEPS_PER_TURN = 200;

/** Whether the state waits at a prompt whose answer is a secret (a secret ask or credential field, a link code). */
export function awaitsSecret(
  bot: DialogBot,
  state: DialogState | null,
  steps: StepRegistry = STEPS,
): boolean {
  const pending = state?.pending;
  if (!pending) return false;
  if (pending.kind === CREDENTIAL) return credentialSecret(bot, pending as CredentialPending);
  if (pending.kind === SIGNIN) return signInSecret(pending as SignInPending);
  const definition = Object.hasOwn(steps, pending.kind) ? steps[pending.kind] : undefined;
  if (!definition?.secret) return false;
  const step = bot.flows[state.flow]?.[state.step];
  const [kind, options] = step ? stepParts(step) : [];
  return definition.secret(kind === pending.kind ? options : undefined, pending);
}

/** What an opted-out identity is still answered: START, and HELP unless the provider answers it. */
function heardWhileOptedOut(keyword: Keyword | undefined, ctx: TurnContext): boolean {
  if (keyword?.kind === 'start') return true;
  return keyword?.kind === 'help' && channelKeywords(ctx.bot, ctx.event.channel).answersHelp;
}

export interface DialogEngineOptions {
  templates: Templates;
  clock: Clock;
  /** The step kinds the flows may use; default every built-in kind. */
  steps?: StepRegistry;
}

export class DialogEngine {
  private readonly tools: { templates: Templates; clock: Clock };
  private readonly steps: StepRegistry;

  constructor(options: DialogEngineOptions) {
    this.tools = { templates: options.templates, clock: options.clock };
    this.steps = options.steps ?? STEPS;
  }

  /** Handles one inbound event and says what to reply and what state to keep. */
  async turn(ctx: TurnContext, previous: DialogState | null): Promise<TurnResult> {
    const { event, now } = ctx;
    const live = previous && previous.expiresAt > now && event.kind !== 'call.start' ? previous : null;
    if (event.kind === 'call.end')
      return { state: null, output: { replies: [], hangup: false }, carriedSecret: false };
    if (event.kind === 'start') return this.start(ctx, previous);
    if (event.kind === 'signin' && !(live && awaitedSignIn(live.pending, event.signIn?.session))) {
      // A sign-in this conversation no longer waits for (it moved on, or started over): nothing changes.
      return { state: previous, output: { replies: [], hangup: false }, carriedSecret: false };
    }
    if (event.kind === 'agent' || event.kind === 'resume') return this.fromOperator(ctx, previous, live);

    // Whatever answers a secret prompt is a secret: a keyword too, and after the session expired too
    // (the user is still answering the question on their screen, even if the bot has moved on).
    const secret =
      (event.kind === 'message' || event.kind === 'call.input') &&
      awaitsSecret(ctx.bot, previous, this.steps);
    let keyword = detectKeyword(event, ctx.bot);
    // An opt-in word from an identity that has not opted out, or a cancel word with no question, is text.
    if (keyword?.kind === 'start' && !ctx.optedOut && event.optOut !== 'START') keyword = undefined;
    if (keyword?.kind === 'cancel' && !live?.pending) keyword = undefined;
    if (ctx.optedOut && !heardWhileOptedOut(keyword, ctx)) {
      // An opted-out identity gets nothing until it opts back in, but HELP (carriers require an answer).
      return { state: live, output: { replies: [], hangup: false }, carriedSecret: secret };
    }
    const turn = new Turn(ctx, live ? { ...live, vars: { ...live.vars } } : freshState(event), this.tools);
    turn.carriedSecret = secret;
    if (live?.handoff && keyword?.kind !== 'stop' && keyword?.kind !== 'start') {
      // A person has the conversation: only STOP and START are the bot's; the rest goes to the operator.
      await whileHandedOff(turn, live.handoff);
      return this.finish(turn, 'waiting');
    }
    if (keyword) {
      const handled = await this.keyword(turn, keyword, live);
      if (handled) return handled;
    }

    let flow: AnswerOutcome = 'next';
    if (live && !Object.hasOwn(ctx.bot.flows, live.flow)) {
      // A reload removed or renamed the flow this conversation was in: it starts again at main, and says so.
      turn.say(await text(turn, 'flowRestarted'));
      turn.state = freshState(event);
    } else if (live?.pending) {
      turn.state.vars.input = event.text;
      flow = await this.answer(turn, live.pending);
    } else if (live) {
      // No question pending: a finished conversation starts over, its variables forgotten.
      turn.state = freshState(event);
    }
    if (!live) {
      await turn.user(); // the event names who started it: the operator's only handle on an anonymous user
      if (previous?.handoff) turn.emit('conversation.resumed', { reason: 'idle' }); // no one wrote for idleTimeout
      turn.emit('conversation.started');
    }
    if (flow === 'next') flow = await this.run(turn);
    return this.finish(turn, flow);
  }

  /**
   * The operator started a flow for this identity: whatever the conversation was doing, the flow runs
   * fresh with the given variables, as if the user had written; their reply continues it.
   */
  private async start(ctx: TurnContext, previous: DialogState | null): Promise<TurnResult> {
    const start = ctx.event.start;
    if (ctx.optedOut)
      return { state: previous, output: { replies: [], hangup: false }, carriedSecret: false };
    if (!start || !Object.hasOwn(ctx.bot.flows, start.flow)) {
      throw new DialogError(`flow ${start?.flow ?? '(none)'} is no longer configured`);
    }
    const state: DialogState = {
      flow: start.flow,
      step: 0,
      vars: { ...start.vars, input: '' },
      expiresAt: 0,
    };
    const turn = new Turn(ctx, state, this.tools);
    await turn.user();
    turn.emit('conversation.started');
    return this.finish(turn, await this.run(turn));
  }

  private finish(turn: Turn, flow: Flow): TurnResult {
    const { ctx } = turn;
    const ended = flow === 'ended';
    if (ended) turn.emit('conversation.ended');
    else {
      // A pending that waits on something outside the conversation (a sign-in) keeps it at least that long.
      const keepUntil = turn.state.pending?.keepUntil;
      turn.state.expiresAt =
        turn.state.handoff && typeof keepUntil === 'number'
          ? keepUntil // a handoff lasts its idle timeout, whatever the session's
          : Math.max(ctx.now + ctx.bot.sessionTimeout * 1000, typeof keepUntil === 'number' ? keepUntil : 0);
    }
    // A secret answer is discarded once used: it must not rest in the state as the last message.
    if (turn.carriedSecret) turn.state.vars.input = '';
    return {
      state: ended ? null : turn.state,
      output: {
        replies: turn.replies,
        hangup: ended,
        ...(turn.texts.length > 0 ? { texts: turn.texts } : {}),
        ...(turn.transfer ? { transfer: turn.transfer } : {}),
      },
      carriedSecret: turn.carriedSecret,
      ...(turn.optOut !== undefined ? { optOut: turn.optOut } : {}),
    };
  }

  /**
   * The operator's agent wrote, or gave the conversation back: only while it is handed off (and the user has
   * not opted out since); otherwise nothing happens.
   */
  private async fromOperator(
    ctx: TurnContext,
    previous: DialogState | null,
    live: DialogState | null,
  ): Promise<TurnResult> {
    const handoff = live?.pending?.kind === HANDOFF ? live.handoff : undefined;
    if (!live || !handoff || ctx.optedOut)
      return { state: previous, output: { replies: [], hangup: false }, carriedSecret: false };
    const turn = new Turn(ctx, { ...live, vars: { ...live.vars } }, this.tools);
    if (ctx.event.kind === 'agent') {
      agentReply(turn, handoff);
      return this.finish(turn, 'waiting');
    }
    await resumeBot(turn);
    return this.finish(turn, await this.run(turn));
  }

  /** Commands that are not answers; undefined when the turn should carry on normally. */
  private async keyword(
    turn: Turn,
    keyword: Keyword,
    live: DialogState | null,
  ): Promise<TurnResult | undefined> {
    const { ctx } = turn;
    const words = channelKeywords(ctx.bot, ctx.event.channel);
    const voice = ctx.event.channel === 'voice';
    const keep = (): TurnResult => ({
      state: live,
      output: { replies: turn.replies, hangup: false },
      carriedSecret: turn.carriedSecret, // LINK <code>: the code is a secret
    });
    switch (keyword.kind) {
      case 'stop':
        await turn.user();
        turn.emit('user.opted_out');
        // Unless the provider confirms it itself (Twilio's Advanced Opt-Out), the user is told.
        if (words.confirms) turn.say(await text(turn, 'optedOut'));
        // Still an opt-out at a secret prompt (it must always work), but then its text is a secret.
        return {
          state: null,
          output: { replies: turn.replies, hangup: true },
          optOut: true,
          carriedSecret: turn.carriedSecret,
        };
      case 'start':
        await turn.user();
        turn.emit('user.opted_in');
        if (words.confirms) turn.say(await text(turn, 'optedIn'));
        return { ...keep(), optOut: false };
      case 'help':
        // Twilio's Advanced Opt-Out may answer HELP itself: then only the question is asked again.
        if (words.answersHelp) turn.say(await text(turn, 'help'));
        if (live?.pending && !ctx.optedOut) await this.repeatPrompt(turn, live.pending);
        return keep();
      case 'cancel':
        // Only while a question is pending (see turn()): the question is dropped, the identity stays in.
        if (voice) {
          // A call has nothing to reply MENU to: it starts again at main.
          turn.say(await text(turn, 'cancelled'));
          turn.state = freshState(ctx.event);
          return this.finish(turn, await this.run(turn));
        }
        turn.say(await text(turn, 'cancelled'));
        return this.finish(turn, 'ended');
      case 'restart':
        turn.state = freshState(ctx.event);
        return this.finish(turn, await this.run(turn));
      case 'logout':
        await ctx.services.logout();
        turn.say(await text(turn, 'loggedOut'));
        return keep();
      case 'whoami':
        turn.say(await ctx.services.whoAmI());
        if (live?.pending) await this.repeatPrompt(turn, live.pending);
        return keep();
      case 'link':
        await this.linkKeyword(turn, keyword.code);
        return keep();
    }
  }

  /** LINK <code>: the code is a secret; its redemption reports user.verified itself. */
  private async linkKeyword(turn: Turn, code: string): Promise<void> {
    const { services } = turn.ctx;
    turn.carriedSecret = true;
    const outcome = await services.redeemLinkCode(code);
    if (outcome.ok) {
      turn.userView = outcome.user;
      turn.say(await text(turn, 'linked', { who: await services.whoAmI() }));
      return;
    }
    turn.say(
      outcome.reason === 'expired'
        ? await text(turn, 'linkExpired')
        : outcome.reason === 'rate_limited'
          ? await text(turn, 'linkLimited', { minutes: minutesOf(outcome.retryInSeconds) })
          : await text(turn, 'linkInvalid'),
    );
  }

  /** Says the pending question again (after HELP or "who am I" interrupted it). */
  private async repeatPrompt(turn: Turn, pending: Pending): Promise<void> {
    if (pending.kind === CREDENTIAL) return credentialReprompt(turn, pending as CredentialPending);
    if (pending.kind === SIGNIN) return signInReprompt(turn, pending as SignInPending);
    const asking = this.askingStep(turn, pending);
    await asking?.definition.reprompt?.(turn, asking.options, pending);
  }

  /** Applies the event as the answer to what is pending; re-prompts or gives up on a bad one. */
  private async answer(turn: Turn, pending: Pending): Promise<AnswerOutcome> {
    const { event } = turn.ctx;
    const input = event.kind === 'call.noinput' ? undefined : event.text.trim();
    if (pending.kind === CREDENTIAL) return credentialAnswer(turn, pending as CredentialPending, input);
    if (pending.kind === SIGNIN) return signInAnswer(turn, pending as SignInPending, input);
    const asking = pending.kind === RESUME ? undefined : this.askingStep(turn, pending);
    if (!asking?.definition.answer) {
      // Resumed, or the flow no longer has the step that asked: run on from here.
      turn.state.pending = undefined;
      return 'next';
    }
    return asking.definition.answer(turn, asking.options, pending, input);
  }

  /** The step that asked what is pending, when the state still points at a step of that kind. */
  private askingStep(
    turn: Turn,
    pending: Pending,
  ): { definition: AnyStepDefinition; options: unknown } | undefined {
    const step = turn.stepAt();
    if (!step || !Object.hasOwn(this.steps, pending.kind)) return undefined;
    const [kind, options] = stepParts(step);
    return kind === pending.kind ? { definition: this.steps[kind]!, options } : undefined;
  }

  /** Runs steps from the current position until the flow waits for an answer or ends. */
  private async run(turn: Turn): Promise<Flow> {
    for (let count = 0; count < MAX_STEPS_PER_TURN; count++) {
      const step = turn.stepAt();
      if (!step) return 'ended'; // the flow ran out of steps: the conversation is over
      turn.authtoken = undefined;
      const [kind, options] = stepParts(step);
      const definition = Object.hasOwn(this.steps, kind) ? this.steps[kind] : undefined;
      if (!definition) throw new DialogError(`step ${Object.keys(step)[0]} is not supported`);
      const outcome = await definition.run(turn, options);
      if (outcome === 'jumped') continue;
      if (outcome !== 'advance') return outcome;
      turn.state.step += 1;
    }
    throw new DialogError(
      `flow ${turn.state.flow} ran ${MAX_STEPS_PER_TURN} steps without waiting: a goto loop?`,
    );
  }
}
