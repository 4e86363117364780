// Semantic checks the schema cannot express: names that must exist, templates, URLs, shared numbers.
import { Liquid, type Template } from 'liquidjs';
import {
  LOCALES,
  STEPS,
  TEXT_NAMES,
  resolveLocale,
  type StepChecks,
  type StepRegistry,
  type TextName,
} from '../core/dialog.js';
import { authMethod } from '../auth/index.js';
import { hostAllowed } from './hosts.js';
import { isPlainObject } from './issues.js';
import type { PathProblem } from './issues.js';
import { formatPath, suggestion } from './problems.js';
import { CHANNELS, RESERVED_VARIABLES } from './schema.js';

// Parsing only: nothing is rendered here, so the engine's options do not matter.
const liquid = new Liquid();

type Path = PropertyKey[];

/**
 * Checks the merged configuration as written (before defaults), reading each value defensively: what
 * has the wrong shape is the schema's to report, and must not stop these checks elsewhere.
 */
export function semanticProblems(raw: unknown, registry: StepRegistry = STEPS): PathProblem[] {
  return checkConfigValues(raw, registry).problems;
}

/** Template variables no step, component or the context sets: likely misspelt, so worth a warning. */
export function templateWarnings(raw: unknown, registry: StepRegistry = STEPS): PathProblem[] {
  return checkConfigValues(raw, registry).warnings;
}

/** semanticProblems and templateWarnings in one pass. */
export function checkConfigValues(
  raw: unknown,
  registry: StepRegistry = STEPS,
): { problems: PathProblem[]; warnings: PathProblem[] } {
  const problems: PathProblem[] = [];
  const warnings: PathProblem[] = [];
  const root = isPlainObject(raw) ? raw : {};
  const workspaces = isPlainObject(root.workspaces) ? root.workspaces : {};
  const bots = isPlainObject(root.bots) ? root.bots : {};
  const numberOwners = new Map<string, string>();
  checkApiKeys(workspaces, problems);
  const components: AuthSeen[] = [];

  for (const [botId, bot] of Object.entries(bots)) {
    if (!isPlainObject(bot)) continue;
    const base: Path = ['bots', botId];
    const workspaceId = typeof bot.workspace === 'string' ? bot.workspace : undefined;
    const workspace = workspaceId === undefined ? undefined : workspaces[workspaceId];
    if (workspaceId !== undefined && !Object.hasOwn(workspaces, workspaceId)) {
      problems.push({
        path: [...base, 'workspace'],
        message: `workspace "${workspaceId}" does not exist`,
        hint: suggestion(workspaceId, Object.keys(workspaces), 'Workspaces'),
      });
    }
    const allowHosts =
      isPlainObject(workspace) && Array.isArray(workspace.allowHosts)
        ? workspace.allowHosts.filter((h): h is string => typeof h === 'string')
        : undefined;
    const flows = isPlainObject(bot.flows) ? bot.flows : undefined;
    const flowNames = flows === undefined ? [] : Object.keys(flows);
    const authNames = isPlainObject(bot.auth) ? Object.keys(bot.auth) : [];
    const ctx: BotContext = {
      problems,
      warnings,
      variables: [...CONTEXT_VARIABLES, ...TOKEN_EXTRAS, ...definedVariables(bot)],
      flowNames,
      authNames,
      urlScope: allowHosts === undefined ? undefined : { workspaceId: workspaceId!, allowHosts },
    };

    if (flows !== undefined && !Object.hasOwn(flows, 'main')) {
      const near = suggestion('main', flowNames, 'Flows');
      problems.push({
        path: [...base, 'flows'],
        message: 'there is no "main" flow; every conversation starts there',
        hint: near.startsWith('did you mean') ? near : `add a flow named "main". ${near}`,
      });
    }

    checkNumbers(bot.numbers, botId, numberOwners, problems);
    checkTemplates(bot, base, warnings);

    if (isPlainObject(bot.auth)) {
      for (const [name, component] of Object.entries(bot.auth)) {
        if (!isPlainObject(component)) continue;
        checkAuthComponent(component, [...base, 'auth', name], ctx);
        components.push({ workspace: workspaceId, name, component, path: [...base, 'auth', name] });
      }
    }

    for (const [flowName, steps] of Object.entries(flows ?? {})) {
      if (!Array.isArray(steps)) continue;
      steps.forEach((step, index) => checkStep(step, [...base, 'flows', flowName, index], ctx, registry));
    }
    checkTexts(bot.texts, [...base, 'texts'], ctx);
    checkVoiceLanguage(bot, base, ctx);
  }
  checkUserNamespaces(components, problems);
  checkSharedComponentNames(components, problems);
  checkPacedNumbers(root.pacing, numberOwners, warnings);
  return { problems, warnings };
}

/** A rate for a number no bot sends from is most likely a typo of one that does. */
function checkPacedNumbers(pacing: unknown, owners: Map<string, string>, warnings: PathProblem[]): void {
  if (!isPlainObject(pacing) || !isPlainObject(pacing.numbers)) return;
  const senders = [...owners.keys()]
    .filter((k) => !k.startsWith('voice:'))
    .map((k) => k.replace(/^sms:/, ''));
  for (const sender of Object.keys(pacing.numbers)) {
    if (!/^(whatsapp:)?\+/.test(sender) || senders.includes(sender)) continue;
    warnings.push({
      path: ['pacing', 'numbers', sender],
      atKey: true,
      message: `no bot sends from ${sender}`,
      hint: suggestion(sender, senders, 'Senders'),
    });
  }
}

/** What every turn's template context has (src/core/dialog/turn.ts). */
const CONTEXT_VARIABLES: readonly string[] = RESERVED_VARIABLES;
/** What a component's issued tokens add for the requests after it (the verify method's). */
const TOKEN_EXTRAS = ['auth_id', 'auth_code'];

/**
 * The variables a bot's steps set, wherever they are (nested in a switch too): `ask`'s and `request`'s
 * `save`, `set`'s names, and a `profile` step's name and email.
 */
function definedVariables(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((item) => definedVariables(item, into));
  if (!isPlainObject(value)) return into;
  for (const [key, item] of Object.entries(value)) {
    if (key === 'save' && typeof item === 'string') into.add(item);
    if ((key === 'save' || key === 'set') && isPlainObject(item))
      Object.keys(item).forEach((n) => into.add(n));
    if (key === 'profile' && isPlainObject(item)) {
      for (const field of ['name', 'email'])
        if (item[field] !== undefined && item[field] !== false) into.add(field);
    }
    definedVariables(item, into);
  }
  return into;
}

interface AuthSeen {
  workspace: string | undefined;
  name: string;
  component: Record<string, unknown>;
  path: Path;
}

/**
 * `userNamespace: X` shares users with component X only when X's users are named by what they type:
 * a component with `userIdPath` (or a verify component's `userId`) names them itself, never as `X:…`.
 */
function checkUserNamespaces(components: AuthSeen[], problems: PathProblem[]): void {
  for (const seen of components) {
    const namespace = seen.component.userNamespace;
    if (typeof namespace !== 'string' || namespace === seen.name) continue;
    const named = components.find(
      (c) =>
        c.workspace === seen.workspace &&
        c.name === namespace &&
        authMethod(c.component.type)?.namesUsersByAnswer?.(c.component) === true,
    );
    if (!named) continue;
    problems.push({
      path: [...seen.path, 'userNamespace'],
      message: `auth component "${namespace}" names its users itself (userIdPath or userId), so no user is in namespace "${namespace}"`,
      hint: `to share its users, write "userNamespace: false" if what users type here is the id "${namespace}" answers; else pick another namespace.`,
    });
  }
}

/**
 * Tokens and typed user ids belong to (workspace, component name): two bots of one workspace that each
 * define `member-pin` share its users and cached tokens. That is right when both mean the same service,
 * and a way into another bank's accounts when they do not, so a name reused for another service is refused.
 */
function checkSharedComponentNames(components: AuthSeen[], problems: PathProblem[]): void {
  const service = (c: Record<string, unknown>) =>
    JSON.stringify([
      c.type ?? null,
      c.url ?? null,
      c.method ?? null,
      c.userIdPath ?? null,
      c.userId ?? null,
      // An oauth component's service is its provider and its client there.
      c.issuer ?? null,
      c.tokenEndpoint ?? null,
      c.clientId ?? null,
    ]);
  const first = new Map<string, AuthSeen>();
  for (const seen of components) {
    const key = JSON.stringify([seen.workspace ?? null, seen.name]);
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, seen);
      continue;
    }
    if (service(earlier.component) === service(seen.component)) continue;
    problems.push({
      path: seen.path,
      message: `auth component "${seen.name}" is also defined by ${earlier.path.slice(0, 2).join('.')} in the same workspace, for another service (type, url, method, userIdPath, userId, or an oauth issuer, tokenEndpoint or clientId differ); users and cached tokens belong to the workspace and the component name, so the two would share them`,
      hint: 'give one of them another name, or define both the same way if they are the same service.',
    });
  }
}

interface BotContext {
  problems: PathProblem[];
  warnings: PathProblem[];
  /** The variables a template of this bot may read. */
  variables: string[];
  flowNames: string[];
  authNames: string[];
  /** Absent when the bot's workspace is missing or broken (reported elsewhere): hosts are not checked. */
  urlScope: { workspaceId: string; allowHosts: string[] } | undefined;
}

function checkNumbers(
  numbers: unknown,
  botId: string,
  owners: Map<string, string>,
  problems: PathProblem[],
): void {
  if (!isPlainObject(numbers)) return;
  for (const channel of CHANNELS) {
    const list = numbers[channel];
    if (!Array.isArray(list)) continue;
    list.forEach((number, index) => {
      if (typeof number !== 'string') return;
      const key = `${channel}:${number}`;
      const owner = owners.get(key);
      const path = ['bots', botId, 'numbers', channel, index];
      if (owner === undefined) owners.set(key, botId);
      else if (owner === botId) problems.push({ path, message: `${number} is listed twice` });
      else {
        problems.push({
          path,
          message: `${number} is on ${channel} for both bot "${owner}" and bot "${botId}"`,
          hint: `a number reaches one bot per channel; remove it from one of them.`,
        });
      }
    });
  }
}

/** Named templates are WhatsApp's: on a bot without a WhatsApp number the operator API can send none of them. */
function checkTemplates(bot: Record<string, unknown>, base: Path, warnings: PathProblem[]): void {
  if (!isPlainObject(bot.templates) || Object.keys(bot.templates).length === 0) return;
  const numbers = isPlainObject(bot.numbers) ? bot.numbers.whatsapp : undefined;
  if (Array.isArray(numbers) && numbers.length > 0) return;
  warnings.push({
    path: [...base, 'templates'],
    message: 'the bot has templates but no WhatsApp number: templates are sent on WhatsApp only',
    hint: 'add the WhatsApp sender under numbers.whatsapp, or remove templates.',
  });
}

/** Shorter keys can be guessed or were typed by hand; 32 characters of `openssl rand -hex 32` are neither. */
export const MIN_API_KEY_LENGTH = 32;

// The messages never quote a key: it may have come from the environment, and is a secret either way.
function checkApiKeys(workspaces: Record<string, unknown>, problems: PathProblem[]): void {
  const owners = new Map<string, { workspace: string; path: Path }>();
  for (const [workspaceId, workspace] of Object.entries(workspaces)) {
    if (!isPlainObject(workspace) || !Array.isArray(workspace.apiKeys)) continue;
    workspace.apiKeys.forEach((key: unknown, index) => {
      if (typeof key !== 'string' || key === '') return;
      const path: Path = ['workspaces', workspaceId, 'apiKeys', index];
      if (key.length < MIN_API_KEY_LENGTH) {
        problems.push({
          path,
          message: `an operator API key needs at least ${MIN_API_KEY_LENGTH} characters, this one has ${key.length}`,
          hint: 'make one with "openssl rand -hex 32".',
        });
      }
      const owner = owners.get(key);
      if (owner === undefined) owners.set(key, { workspace: workspaceId, path });
      else if (owner.workspace !== workspaceId) {
        problems.push({
          path,
          message: `the same key as ${formatPath(owner.path)}: one key would open two workspaces`,
          hint: 'give each workspace its own key, e.g. from "openssl rand -hex 32".',
        });
      }
    });
  }
}

// Field prompts are every method's; the rest (URLs, hosts, headers) is the method's own to check.
function checkAuthComponent(component: Record<string, unknown>, path: Path, bot: BotContext): void {
  // A component's own templates read what its fields asked for (`{{username}}`).
  const fieldNames = Array.isArray(component.fields)
    ? component.fields.flatMap((f) => (isPlainObject(f) && typeof f.name === 'string' ? [f.name] : []))
    : [];
  const ctx: BotContext = { ...bot, variables: [...bot.variables, ...fieldNames] };
  if (Array.isArray(component.fields)) {
    component.fields.forEach((field, i) => {
      if (isPlainObject(field)) checkText(field.prompt, [...path, 'fields', i, 'prompt'], ctx);
    });
  }
  authMethod(component.type)?.check?.(component, path, {
    url: (url, at) => {
      if (typeof url === 'string') checkUrl(url, at, ctx);
    },
    text: (text, at) => checkText(text, at, ctx),
    headers: (headers, at) => checkHeaders(headers, at, ctx),
    body: (body, at) => checkBody(body, at, ctx),
    flow: (value, at) => {
      if (typeof value === 'string') checkFlowName(value, at, ctx);
    },
    problem: (at, message, hint) => ctx.problems.push({ path: at, message, ...(hint ? { hint } : {}) }),
  });
}

// Works on the step as written, so that a schema error elsewhere in the step hides nothing here.
function checkStep(step: unknown, path: Path, ctx: BotContext, steps: StepRegistry): void {
  if (!isPlainObject(step)) return;
  const entries = Object.entries(step);
  if (entries.length !== 1) return;
  const [kind, value] = entries[0]!;
  const definition = Object.hasOwn(steps, kind) ? steps[kind] : undefined;
  definition?.check?.(value, [...path, kind], stepChecks(ctx));
}

/** The checks a step kind asks for, on values as written (what is not text is the schema's to report). */
function stepChecks(ctx: BotContext): StepChecks {
  return {
    text: (value, path) => checkText(value, path, ctx),
    url: (value, path) => {
      if (typeof value === 'string') checkUrl(value, path, ctx);
    },
    headers: (value, path) => checkHeaders(value, path, ctx),
    body: (value, path) => checkBody(value, path, ctx),
    flow: (value, path) => {
      if (typeof value === 'string') checkFlowName(value, path, ctx);
    },
    auth: (value, path) => {
      if (typeof value === 'string') checkAuthName(value, path, ctx);
    },
  };
}

function checkFlowName(name: string, path: Path, ctx: BotContext): void {
  if (ctx.flowNames.includes(name)) return;
  ctx.problems.push({
    path,
    message: `flow "${name}" does not exist`,
    hint: suggestion(name, ctx.flowNames, 'Flows'),
  });
}

function checkAuthName(name: string, path: Path, ctx: BotContext): void {
  if (ctx.authNames.includes(name)) return;
  ctx.problems.push({
    path,
    message: `auth component "${name}" does not exist`,
    hint: suggestion(name, ctx.authNames, 'Auth components'),
  });
}

function checkTemplate(text: string, path: Path, ctx: BotContext): boolean {
  try {
    checkVariables(liquid.parse(text), path, ctx);
    return true;
  } catch (err) {
    ctx.problems.push({
      path,
      message: `not a valid Liquid template: ${(err as Error).message}`,
      hint: 'variables are written {{ name }} and tags {% if ... %}...{% endif %}.',
    });
    return false;
  }
}

function checkVariables(template: Template[], path: Path, ctx: BotContext): void {
  // A sign-in link's text has the link itself; Liquid's own locals (assign, for) are not global.
  const known = path[path.length - 1] === 'linkText' ? [...ctx.variables, 'link'] : ctx.variables;
  const seen = new Set<string>();
  for (const [root] of liquid.globalVariableSegmentsSync(template)) {
    if (typeof root !== 'string' || known.includes(root) || seen.has(root)) continue;
    seen.add(root);
    ctx.warnings.push({
      path,
      message: `{{${root}}} is not a variable this bot sets, so it renders empty`,
      hint: suggestion(root, known, 'Variables'),
    });
  }
}

let textParameters: Map<string, readonly string[]> | undefined;

/** The parameters of each engine text: the variables its English default uses ({{ minutes }}). */
function parametersOf(name: TextName): readonly string[] {
  textParameters ??= new Map(
    TEXT_NAMES.map((n) => [
      n,
      liquid.globalVariableSegmentsSync(liquid.parse(LOCALES.en.text[n])).map(([root]) => String(root)),
    ]),
  );
  return textParameters.get(name) ?? [];
}

/** `texts:` and `texts.voice:`: each a template that may use the text's parameters and the bot's variables. */
function checkTexts(texts: unknown, path: Path, ctx: BotContext): void {
  if (!isPlainObject(texts)) return;
  const check = (map: Record<string, unknown>, at: Path) => {
    for (const name of TEXT_NAMES) {
      if (typeof map[name] !== 'string') continue;
      const withParameters = { ...ctx, variables: [...ctx.variables, ...parametersOf(name)] };
      checkTemplate(map[name], [...at, name], withParameters);
    }
  };
  check(texts, path);
  if (isPlainObject(texts.voice)) check(texts.voice, [...path, 'voice']);
}

/** A call language without texts of its own, and no locale said: the engine's texts would be English. */
function checkVoiceLanguage(bot: Record<string, unknown>, base: Path, ctx: BotContext): void {
  const voice = isPlainObject(bot.voice) ? bot.voice : {};
  if (bot.locale !== undefined || typeof voice.language !== 'string') return;
  if (resolveLocale(voice.language) !== undefined) return;
  ctx.warnings.push({
    path: [...base, 'voice', 'language'],
    message: `there are no built-in texts for "${voice.language}", so the engine's own texts are English`,
    hint: 'write them under texts:, and set locale: en to say that English is meant.',
  });
}

/** Text that is not a string is the schema's to report. */
function checkText(text: unknown, path: Path, ctx: BotContext): void {
  if (typeof text === 'string') checkTemplate(text, path, ctx);
}

function checkHeaders(headers: unknown, path: Path, ctx: BotContext): void {
  if (!isPlainObject(headers)) return;
  for (const [name, value] of Object.entries(headers)) checkText(value, [...path, name], ctx);
}

// A body is data: only its text leaves are templates.
function checkBody(body: unknown, path: Path, ctx: BotContext): void {
  if (typeof body === 'string') checkTemplate(body, path, ctx);
  else if (Array.isArray(body)) body.forEach((item, i) => checkBody(item, [...path, i], ctx));
  else if (isPlainObject(body))
    for (const [key, value] of Object.entries(body)) checkBody(value, [...path, key], ctx);
}

const LITERAL_ORIGIN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/;

/** A URL's scheme and host are literal and allowed; only its path and query may be templated. */
function checkUrl(url: string, path: Path, ctx: BotContext): void {
  if (!checkTemplate(url, path, ctx)) return;
  const origin = LITERAL_ORIGIN.exec(url);
  const marker = [url.indexOf('{{'), url.indexOf('{%')].filter((i) => i >= 0).sort((a, b) => a - b)[0];
  const templatedOrigin =
    marker !== undefined &&
    (origin === null ? !url.slice(0, marker).includes('/') : marker < origin[0].length);
  if (templatedOrigin) {
    ctx.problems.push({
      path,
      message: 'the scheme and host of a URL must be literal',
      hint: 'put variables in the path or query.',
    });
    return;
  }
  if (origin === null) {
    ctx.problems.push({
      path,
      message: 'not an absolute URL',
      hint: 'start it with https:// and the host, e.g. "https://api.example.com/v1/balance".',
    });
    return;
  }
  const scheme = origin[1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') {
    ctx.problems.push({ path, message: `the scheme must be http or https, not "${scheme}"` });
    return;
  }
  const authority = origin[2]!;
  if (authority.includes('@')) {
    ctx.problems.push({
      path,
      message: 'a URL cannot carry credentials',
      hint: 'send them in a header, e.g. Authorization, with the secret from ${NAME}.',
    });
    return;
  }
  let host: string;
  try {
    host = new URL(`${scheme}://${authority}/`).hostname;
  } catch {
    ctx.problems.push({ path, message: `"${authority}" is not a valid host` });
    return;
  }
  const scope = ctx.urlScope;
  if (scope === undefined || hostAllowed(host, scope.allowHosts)) return;
  const allowed =
    scope.allowHosts.length === 0 ? 'It lists none.' : `Allowed: ${scope.allowHosts.join(', ')}.`;
  ctx.problems.push({
    path,
    message: `host "${host}" is not in the allowHosts of workspace "${scope.workspaceId}"`,
    hint: `add it to workspaces.${scope.workspaceId}.allowHosts if the bot may call it. ${allowed}`,
  });
}
