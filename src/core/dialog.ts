// The dialog engine: runs a bot's flows one turn at a time over state that is plain data.
import type {
  AskOptions,
  AuthComponent,
  BotConfig,
  CredentialField,
  RequestOptions,
  Step,
} from '../config/index.js';
import { readAnswerPath } from '../config/index.js';
import { OutboundError, OutboundRefusedError } from '../net/errors.js';
import type { InboundEvent, Reply, TurnOutput } from './events.js';
import { detectKeyword, type Keyword } from './keywords.js';
import type { CachedToken, DialogServices, OperatorEventType, UserView } from './ports.js';
import { TemplateError, type TemplateContext, type Templates } from './templates.js';
import { DialogError } from './errors.js';

/** What the conversation waits for. The step index in `flow` points at the step that asked. */
export type Pending =
  | { kind: 'ask'; misses: number }
  /** A credential dialog: answers so far (the whole state is sealed at rest) and failed tries. */
  | { kind: 'credential'; component: string; field: number; values: Record<string, string>; misses: number }
  | { kind: 'profile'; field: 'name' | 'email'; misses: number }
  /** A `link` step waits for a link code (keyed on voice, typed elsewhere). */
  | { kind: 'link'; misses: number }
  /** The auth service was unavailable: the next message tries the current step again. */
  | { kind: 'resume' };

/**
 * A conversation's dialog state: stored data, never timers or closures. It is sealed (encrypted)
 * as a whole before it rests in Redis, since it may hold what the user typed.
 */
export interface DialogState {
  flow: string;
  step: number;
  vars: Record<string, unknown>;
  pending?: Pending;
  /** Absolute time (ms) after which the conversation starts over at `main`. */
  expiresAt: number;
}

export interface TurnResult {
  /** The state to keep, or null when the conversation is over. */
  state: DialogState | null;
  output: TurnOutput;
  /** Set when the turn changed the identity's opt-out. */
  optOut?: boolean;
  /** The event carried a secret answer (the runtime may delete it from the provider's log). */
  carriedSecret: boolean;
}

/**
 * How long past its expiry a conversation waiting at a secret prompt is remembered. The state is kept
 * (sealed, as always) so that a password typed after the session timed out is still known for a secret;
 * a day covers someone who comes back to the question that evening.
 */
export const SECRET_PROMPT_MEMORY_SECONDS = 86_400;

/** Whether the state waits at a prompt whose answer is a secret (a secret ask or credential field, a link code). */
export function awaitsSecret(bot: BotConfig, state: DialogState | null): boolean {
  const pending = state?.pending;
  if (!pending) return false;
  switch (pending.kind) {
    case 'link':
      return true;
    case 'credential': {
      const component = Object.hasOwn(bot.auth, pending.component) ? bot.auth[pending.component] : undefined;
      return component?.fields[pending.field]?.secret === true;
    }
    case 'ask': {
      const step = bot.flows[state.flow]?.[state.step];
      return step !== undefined && 'ask' in step && step.ask.secret;
    }
    default:
      return false;
  }
}

export interface TurnContext {
  botId: string;
  bot: BotConfig;
  event: InboundEvent;
  now: number;
  optedOut: boolean;
  services: DialogServices;
}

/** Pause before retrying an idempotent request, times the attempt number. */
const RETRY_PAUSE_MS = 200;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Steps run per turn before the engine concludes a flow loops forever (goto cycles). */
const MAX_STEPS_PER_TURN = 200;

/** Texts the engine says on its own; bots override the important ones in their config. */
/** Whole minutes until a paused link-code redemption works again (the default pause when unknown). */
function minutesOf(seconds: number | undefined): number {
  return seconds === undefined ? 15 : Math.max(1, Math.ceil(seconds / 60));
}

export const TEXT = {
  requestFailed: 'Sorry, that service is not available right now. Please try again later.',
  authUnavailable: "Sorry, we can't check your details right now. Please try again later.",
  wrongCredentials: "Sorry, those details didn't match. Let's try again.",
  locked: (minutes: number) =>
    `Too many failed attempts. Please try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
  invalidField: "Sorry, that doesn't look right.",
  credentialsGaveUp: "Sorry, I couldn't read your details. Reply MENU to start over.",
  loggedOut: 'You are signed out.',
  optedIn: 'You are subscribed again. Reply HELP for help.',
  linked: (who: string) => `Thanks, your account is linked. ${who}`,
  linkInvalid: "Sorry, that code isn't valid. Check it and try again.",
  linkExpired: 'Sorry, that code has expired. Ask for a new one.',
  linkLimited: (minutes: number) =>
    `Too many wrong codes. Please try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
  profileName: 'What is your name?',
  profileEmail: 'What is your email address?',
  profileInvalidEmail: "That doesn't look like an email address.",
};

type Flow = 'waiting' | 'ended';

/** One turn's working set: the state being changed, the replies, what was learned along the way. */
class Turn {
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
  ) {}

  say(text: string): void {
    if (text.trim() !== '') this.replies.push({ text });
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
}

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
    const { event, now } = ctx;
    const live = previous && previous.expiresAt > now && event.kind !== 'call.start' ? previous : null;
    if (event.kind === 'call.end')
      return { state: null, output: { replies: [], hangup: false }, carriedSecret: false };

    // Whatever answers a secret prompt is a secret: a keyword too, and after the session expired too
    // (the user is still answering the question on their screen, even if the bot has moved on).
    const secret =
      (event.kind === 'message' || event.kind === 'call.input') && awaitsSecret(ctx.bot, previous);
    const keyword = detectKeyword(event, ctx.bot);
    if (ctx.optedOut && keyword?.kind !== 'start') {
      // An opted-out identity gets nothing at all until it opts back in.
      return { state: live, output: { replies: [], hangup: false }, carriedSecret: secret };
    }
    const turn = new Turn(ctx, live ? { ...live, vars: { ...live.vars } } : freshState(event));
    turn.carriedSecret = secret;
    if (keyword) {
      const handled = await this.keyword(turn, keyword, live);
      if (handled) return handled;
    }

    let flow: Flow | 'next' = 'next';
    if (live?.pending) {
      turn.state.vars.input = event.text;
      flow = await this.answer(turn);
    } else if (live) {
      // No question pending: a finished conversation starts over, its variables forgotten.
      turn.state = freshState(event);
    }
    if (!live) {
      await turn.user(); // the event names who started it: the operator's only handle on an anonymous user
      turn.emit('conversation.started');
    }
    if (flow === 'next') flow = await this.run(turn);
    return this.finish(turn, flow);
  }

  private finish(turn: Turn, flow: Flow): TurnResult {
    const { ctx } = turn;
    const ended = flow === 'ended';
    if (ended) turn.emit('conversation.ended');
    else turn.state.expiresAt = ctx.now + ctx.bot.sessionTimeout * 1000;
    // A secret answer is discarded once used: it must not rest in the state as the last message.
    if (turn.carriedSecret) turn.state.vars.input = '';
    return {
      state: ended ? null : turn.state,
      output: { replies: turn.replies, hangup: ended },
      carriedSecret: turn.carriedSecret,
      ...(turn.optOut !== undefined ? { optOut: turn.optOut } : {}),
    };
  }

  /** Commands that are not answers; undefined when the turn should carry on normally. */
  private async keyword(
    turn: Turn,
    keyword: Keyword,
    live: DialogState | null,
  ): Promise<TurnResult | undefined> {
    const { ctx } = turn;
    const keep = (): TurnResult => ({
      state: live,
      output: { replies: turn.replies, hangup: false },
      carriedSecret: turn.carriedSecret, // LINK <code>: the code is a secret
    });
    switch (keyword.kind) {
      case 'stop':
        await turn.user();
        turn.emit('user.opted_out');
        // Still an opt-out at a secret prompt (it must always work), but then its text is a secret.
        return {
          state: null,
          output: { replies: [], hangup: true },
          optOut: true,
          carriedSecret: turn.carriedSecret,
        };
      case 'start':
        await turn.user();
        turn.emit('user.opted_in');
        turn.say(TEXT.optedIn);
        return { ...keep(), optOut: false };
      case 'help':
        turn.say(ctx.bot.help);
        if (live?.pending) await this.repeatPrompt(turn);
        return keep();
      case 'restart':
        turn.state = freshState(ctx.event);
        return this.finish(turn, await this.run(turn));
      case 'logout':
        await ctx.services.logout();
        turn.say(TEXT.loggedOut);
        return keep();
      case 'whoami':
        turn.say(await ctx.services.whoAmI());
        if (live?.pending) await this.repeatPrompt(turn);
        return keep();
      case 'link': {
        turn.carriedSecret = true;
        const outcome = await ctx.services.redeemLinkCode(keyword.code);
        if (outcome.ok) {
          turn.userView = outcome.user; // the link code's redemption reports user.verified itself
          turn.say(TEXT.linked(await ctx.services.whoAmI()));
        } else {
          turn.say(
            outcome.reason === 'expired'
              ? TEXT.linkExpired
              : outcome.reason === 'rate_limited'
                ? TEXT.linkLimited(minutesOf(outcome.retryInSeconds))
                : TEXT.linkInvalid,
          );
        }
        return keep();
      }
    }
  }

  /** Says the pending question again (after HELP or "who am I" interrupted it). */
  private async repeatPrompt(turn: Turn): Promise<void> {
    const pending = turn.state.pending;
    const step = this.stepAt(turn);
    if (pending?.kind === 'ask' && step && 'ask' in step) await this.askPrompt(turn, step.ask);
    else if (pending?.kind === 'credential') {
      const component = this.component(turn, pending.component);
      const field = component.fields[pending.field];
      if (field) await this.fieldPrompt(turn, field);
    } else if (pending?.kind === 'profile') await this.profilePrompt(turn, pending.field);
    else if (pending?.kind === 'link' && step && 'link' in step)
      await this.linkPrompt(turn, step.link.prompt);
  }

  /** Applies the event as the answer to what is pending; re-prompts or gives up on a bad one. */
  private async answer(turn: Turn): Promise<Flow | 'next'> {
    const pending = turn.state.pending!;
    const input = turn.ctx.event.kind === 'call.noinput' ? undefined : turn.ctx.event.text.trim();
    switch (pending.kind) {
      case 'resume':
        turn.state.pending = undefined;
        return 'next';
      case 'ask': {
        const step = this.stepAt(turn);
        if (!step || !('ask' in step)) {
          turn.state.pending = undefined;
          return 'next';
        }
        const ask = step.ask;
        if (ask.secret) turn.carriedSecret = true;
        if (input !== undefined && validAnswer(ask, input)) {
          turn.state.vars[ask.save] = input;
          turn.state.pending = undefined;
          turn.state.step += 1;
          return 'next';
        }
        const misses = pending.misses + 1;
        if (misses > ask.retries) {
          turn.say(await this.render(turn, ask.invalid));
          return 'ended';
        }
        turn.state.pending = { kind: 'ask', misses };
        return 'next'; // runs the ask step again, which re-prompts
      }
      case 'credential':
        return this.credentialAnswer(turn, pending, input);
      case 'profile':
        return this.profileAnswer(turn, pending, input);
      case 'link':
        return this.linkAnswer(turn, pending, input);
    }
  }

  /** Runs steps from the current position until the flow waits for an answer or ends. */
  private async run(turn: Turn): Promise<Flow> {
    for (let count = 0; count < MAX_STEPS_PER_TURN; count++) {
      const { state } = turn;
      const step = this.stepAt(turn);
      if (!step) return 'ended'; // the flow ran out of steps: the conversation is over
      turn.authtoken = undefined;
      if ('say' in step) {
        turn.say(await this.render(turn, step.say));
      } else if ('ask' in step) {
        await this.askPrompt(turn, step.ask);
        state.pending = { kind: 'ask', misses: state.pending?.kind === 'ask' ? state.pending.misses : 0 };
        return 'waiting';
      } else if ('goto' in step) {
        this.jump(turn, step.goto);
        continue;
      } else if ('end' in step) {
        if (step.end) turn.say(await this.render(turn, step.end));
        return 'ended';
      } else if ('set' in step) {
        for (const [name, template] of Object.entries(step.set))
          state.vars[name] = await this.render(turn, template);
      } else if ('switch' in step) {
        const value = await this.render(turn, step.switch.value);
        const target = Object.hasOwn(step.switch.cases, value)
          ? step.switch.cases[value]
          : step.switch.default;
        if (target) {
          this.jump(turn, target);
          continue;
        }
      } else if ('auth' in step) {
        const ready = await this.ensureToken(turn, step.auth);
        if (ready !== 'ready') return ready;
      } else if ('request' in step) {
        const outcome = await this.request(turn, step.request);
        if (outcome === 'jumped') continue;
        if (outcome !== 'done') return outcome;
      } else if ('link' in step) {
        state.pending = { kind: 'link', misses: 0 };
        await this.linkPrompt(turn, step.link.prompt);
        return 'waiting';
      } else if ('profile' in step) {
        const first = step.profile.name ? 'name' : 'email';
        state.pending = { kind: 'profile', field: first, misses: 0 };
        await this.profilePrompt(turn, first);
        return 'waiting';
      } else {
        throw new DialogError(`step ${Object.keys(step as object)[0]} is not supported`);
      }
      state.step += 1;
    }
    throw new DialogError(
      `flow ${turn.state.flow} ran ${MAX_STEPS_PER_TURN} steps without waiting: a goto loop?`,
    );
  }

  // --- auth ---

  /** Makes sure the user has a live token for the component, or starts the credential dialog. */
  private async ensureToken(turn: Turn, name: string): Promise<'ready' | Flow> {
    const cached = turn.tokens.get(name) ?? (await turn.ctx.services.token(name));
    if (cached && cached.expiresAt > Date.now()) {
      turn.tokens.set(name, cached);
      turn.authtoken = cached.token;
      return 'ready';
    }
    return this.startCredentials(turn, name);
  }

  private async startCredentials(turn: Turn, name: string): Promise<Flow> {
    const component = this.component(turn, name);
    const locked = await turn.ctx.services.lockedFor(name);
    if (locked > 0) {
      turn.say(TEXT.locked(Math.ceil(locked / 60)));
      return 'ended';
    }
    turn.state.pending = { kind: 'credential', component: name, field: 0, values: {}, misses: 0 };
    await this.fieldPrompt(turn, component.fields[0]!);
    return 'waiting';
  }

  private async credentialAnswer(
    turn: Turn,
    pending: Extract<Pending, { kind: 'credential' }>,
    input: string | undefined,
  ): Promise<Flow | 'next'> {
    const component = this.component(turn, pending.component);
    const field = component.fields[pending.field]!;
    if (field.secret) turn.carriedSecret = true;
    if (input === undefined || !validAnswer(field, input)) {
      const misses = pending.misses + 1;
      if (misses > 2) {
        turn.say(TEXT.credentialsGaveUp);
        turn.state.pending = undefined;
        return 'ended';
      }
      turn.state.pending = { ...pending, misses };
      if (input !== undefined) turn.say(TEXT.invalidField);
      await this.fieldPrompt(turn, field);
      return 'waiting';
    }
    const values = { ...pending.values, [field.name]: input };
    const nextField = component.fields[pending.field + 1];
    if (nextField) {
      turn.state.pending = { ...pending, field: pending.field + 1, values, misses: 0 };
      await this.fieldPrompt(turn, nextField);
      return 'waiting';
    }
    // Every field answered: the secret leaves the state now, whatever the outcome.
    turn.state.pending = undefined;
    const { services } = turn.ctx;
    const locked = await services.lockedFor(pending.component);
    if (locked > 0) {
      turn.say(TEXT.locked(Math.ceil(locked / 60)));
      return 'ended';
    }
    const outcome = await services.authenticate(component, values, pending.component);
    if (outcome.result === 'locked') {
      // The typed account is locked (whoever tried it): no auth call was made.
      turn.say(TEXT.locked(Math.ceil(outcome.seconds / 60)));
      return 'ended';
    }
    if (outcome.result === 'success') {
      // Verified first, so that the token is cached under the verified user (and reported as user.verified).
      turn.userView = await services.markVerified(outcome.userId, pending.component);
      await services.storeToken(pending.component, outcome.userId, {
        token: outcome.token,
        ttlSeconds: outcome.ttlSeconds,
        ...(outcome.extra ? { extra: outcome.extra } : {}),
      });
      await services.clearFailures(pending.component);
      turn.tokens.set(pending.component, {
        token: outcome.token,
        expiresAt: Date.now() + outcome.ttlSeconds * 1000,
        ...(outcome.extra ? { extra: outcome.extra } : {}),
      });
      return 'next'; // the step that asked runs again, now with a token
    }
    if (outcome.result === 'unavailable') {
      turn.emit('auth.failed', { component: pending.component, reason: 'unavailable' });
      turn.say(TEXT.authUnavailable);
      turn.state.pending = { kind: 'resume' };
      return 'waiting';
    }
    await turn.user();
    turn.emit('auth.failed', { component: pending.component, reason: 'wrong_credentials' });
    const lockedNow = await services.recordFailure(component, pending.component);
    if (lockedNow > 0) turn.emit('user.locked', { component: pending.component, seconds: lockedNow });
    const lockedFor = Math.max(lockedNow, outcome.accountLockedSeconds ?? 0);
    if (lockedFor > 0) {
      turn.say(TEXT.locked(Math.ceil(lockedFor / 60)));
      return 'ended';
    }
    turn.say(TEXT.wrongCredentials);
    turn.state.pending = {
      kind: 'credential',
      component: pending.component,
      field: 0,
      values: {},
      misses: 0,
    };
    await this.fieldPrompt(turn, component.fields[0]!);
    return 'waiting';
  }

  private async fieldPrompt(turn: Turn, field: CredentialField): Promise<void> {
    turn.ask(await this.render(turn, field.prompt), {
      keypad: field.keypad || field.secret,
      secret: field.secret,
      ...(field.digits !== undefined ? { digits: field.digits } : {}),
    });
  }

  private component(turn: Turn, name: string): AuthComponent {
    const component = Object.hasOwn(turn.ctx.bot.auth, name) ? turn.ctx.bot.auth[name] : undefined;
    if (!component) throw new DialogError(`auth component ${name} does not exist`);
    return component;
  }

  // --- request ---

  private async request(turn: Turn, request: RequestOptions): Promise<'done' | 'jumped' | Flow> {
    let token: CachedToken | undefined;
    if (request.auth) {
      const ready = await this.ensureToken(turn, request.auth);
      if (ready !== 'ready') return ready;
      token = turn.tokens.get(request.auth);
    }
    const context = await this.context(turn, token);
    let response;
    try {
      response = await this.send(turn, request, context);
    } catch (error) {
      // A value the user typed can make a URL template unusable (a ".." segment): refuse it like a bad host.
      const refused = error instanceof OutboundRefusedError || error instanceof TemplateError;
      if (!refused && !(error instanceof OutboundError)) throw error;
      if (refused)
        turn.ctx.services.report(`request refused: ${error instanceof Error ? error.message : ''}`);
      return this.requestFailed(turn, request);
    }
    if ((response.status === 401 || response.status === 403) && request.auth) {
      // The token was refused: forget it, ask for credentials again, then repeat this same request.
      await turn.ctx.services.revokeToken(request.auth);
      turn.tokens.delete(request.auth);
      return this.startCredentials(turn, request.auth);
    }
    if (response.status < 200 || response.status >= 300) return this.requestFailed(turn, request);
    for (const [name, path] of Object.entries(request.save ?? {})) {
      turn.state.vars[name] = readAnswerPath(response.json, path) ?? '';
    }
    return 'done';
  }

  private async send(turn: Turn, request: RequestOptions, context: TemplateContext) {
    const idempotent = request.method === 'GET' || request.method === 'PUT' || request.method === 'DELETE';
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers ?? {}))
      headers[name] = this.templates.header(value, context);
    const call = {
      method: request.method,
      url: this.templates.url(request.url, context),
      headers,
      timeoutMs: request.timeout * 1000,
      ...(request.body !== undefined ? { body: this.templates.body(request.body, context) } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      const retriesLeft = idempotent ? request.retry - attempt : 0;
      if (attempt > 0) await pause(RETRY_PAUSE_MS * attempt); // a short pause: the user is waiting
      try {
        const response = await turn.ctx.services.http(call);
        if (response.status >= 500 && retriesLeft > 0) continue;
        return response;
      } catch (error) {
        if (error instanceof OutboundError && error.retryable && retriesLeft > 0) continue;
        throw error;
      }
    }
  }

  private requestFailed(turn: Turn, request: RequestOptions): 'jumped' | Flow {
    if (request.onError) {
      this.jump(turn, request.onError);
      return 'jumped';
    }
    turn.say(TEXT.requestFailed);
    return 'ended';
  }

  // --- link ---

  private async linkPrompt(turn: Turn, prompt: string): Promise<void> {
    // The code is a secret: gathered on the keypad on voice, never echoed, kept as [redacted] in history.
    turn.ask(await this.render(turn, prompt), { keypad: turn.ctx.event.channel === 'voice', secret: true });
  }

  private async linkAnswer(
    turn: Turn,
    pending: Extract<Pending, { kind: 'link' }>,
    input: string | undefined,
  ): Promise<Flow | 'next'> {
    const step = this.stepAt(turn);
    if (!step || !('link' in step)) {
      turn.state.pending = undefined;
      return 'next';
    }
    turn.carriedSecret = true;
    const code = input?.replace(/[\s-]/g, '') ?? '';
    const outcome = code ? await turn.ctx.services.redeemLinkCode(code) : undefined;
    if (outcome?.ok) {
      turn.userView = outcome.user; // the redemption reports user.verified itself
      turn.say(TEXT.linked(await turn.ctx.services.whoAmI()));
      turn.state.pending = undefined;
      turn.state.step += 1;
      return 'next';
    }
    const misses = pending.misses + 1;
    if (outcome?.reason === 'rate_limited' || misses > step.link.retries) {
      // Out of tries: the flow carries on unlinked (it can check {{user.tier}}).
      turn.say(
        outcome?.reason === 'rate_limited'
          ? TEXT.linkLimited(minutesOf(outcome.retryInSeconds))
          : await this.render(turn, step.link.invalid),
      );
      turn.state.pending = undefined;
      turn.state.step += 1;
      return 'next';
    }
    if (outcome) turn.say(outcome.reason === 'expired' ? TEXT.linkExpired : TEXT.linkInvalid);
    turn.state.pending = { kind: 'link', misses };
    await this.linkPrompt(turn, step.link.prompt);
    return 'waiting';
  }

  // --- profile ---

  private async profilePrompt(turn: Turn, field: 'name' | 'email'): Promise<void> {
    const step = this.stepAt(turn);
    const configured = step && 'profile' in step ? step.profile[field] : undefined;
    const prompt =
      typeof configured === 'string' ? configured : field === 'name' ? TEXT.profileName : TEXT.profileEmail;
    turn.ask(await this.render(turn, prompt), { keypad: false, secret: false });
  }

  private async profileAnswer(
    turn: Turn,
    pending: Extract<Pending, { kind: 'profile' }>,
    input: string | undefined,
  ): Promise<Flow | 'next'> {
    const step = this.stepAt(turn);
    if (!step || !('profile' in step)) {
      turn.state.pending = undefined;
      return 'next';
    }
    const valid =
      input !== undefined &&
      input.length > 0 &&
      input.length <= 200 &&
      (pending.field === 'name' || /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input));
    if (!valid) {
      if (pending.misses + 1 > 2) {
        turn.state.pending = undefined;
        turn.state.step += 1;
        return 'next';
      }
      if (pending.field === 'email' && input) turn.say(TEXT.profileInvalidEmail);
      turn.state.pending = { ...pending, misses: pending.misses + 1 };
      await this.profilePrompt(turn, pending.field);
      return 'waiting';
    }
    await turn.ctx.services.saveProfile({ [pending.field]: input });
    turn.state.vars[pending.field] = input;
    if (pending.field === 'name' && step.profile.email) {
      turn.state.pending = { kind: 'profile', field: 'email', misses: 0 };
      await this.profilePrompt(turn, 'email');
      return 'waiting';
    }
    turn.userView = undefined; // the tier may have changed
    turn.state.pending = undefined;
    turn.state.step += 1;
    return 'next';
  }

  // --- helpers ---

  private async askPrompt(turn: Turn, ask: AskOptions): Promise<void> {
    turn.ask(await this.render(turn, ask.prompt), {
      keypad: ask.keypad || ask.secret,
      secret: ask.secret,
      ...(ask.digits !== undefined ? { digits: ask.digits } : {}),
      ...(ask.timeout !== undefined ? { timeout: ask.timeout } : {}),
    });
  }

  private jump(turn: Turn, flow: string): void {
    if (!Object.hasOwn(turn.ctx.bot.flows, flow)) throw new DialogError(`flow ${flow} does not exist`);
    turn.state.flow = flow;
    turn.state.step = 0;
    turn.state.pending = undefined;
  }

  private stepAt(turn: Turn): Step | undefined {
    return turn.ctx.bot.flows[turn.state.flow]?.[turn.state.step];
  }

  /** Template variables; `user` is looked up only for turns whose templates need it. */
  private async context(turn: Turn, token?: CachedToken): Promise<TemplateContext> {
    const user = await turn.user();
    return {
      ...baseContext(turn),
      ...(token?.extra ?? {}),
      authtoken: token?.token ?? turn.authtoken ?? '',
      user: userContext(user),
    };
  }

  /** Renders text; the user is looked up only when the template mentions them. */
  private async render(turn: Turn, template: string): Promise<string> {
    const ctx = baseContext(turn);
    if (USES_USER.test(template)) ctx.user = userContext(await turn.user());
    return this.templates.text(template, ctx);
  }
}

const USES_USER = /\buser\b/;

function userContext(u: UserView): Record<string, string> {
  return { id: u.id, tier: u.tier, name: u.name ?? '', email: u.email ?? '', externalId: u.externalId ?? '' };
}

function baseContext(turn: Turn): TemplateContext {
  return {
    ...turn.state.vars,
    input: turn.carriedSecret ? '' : turn.ctx.event.text, // a secret answer is never rendered back
    channel: turn.ctx.event.channel,
    from: turn.ctx.event.identity,
    bot: turn.ctx.botId,
  };
}

function freshState(event: InboundEvent): DialogState {
  return { flow: 'main', step: 0, vars: { input: event.text }, expiresAt: 0 };
}

function validAnswer(rule: { keypad: boolean; digits?: number; pattern?: string }, input: string): boolean {
  if (input === '') return false;
  if (rule.keypad && !/^[0-9]+$/.test(input)) return false;
  if (rule.digits !== undefined && input.length !== rule.digits) return false;
  if (rule.pattern !== undefined && !compiledPattern(rule.pattern).test(input)) return false;
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
