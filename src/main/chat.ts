// `switchboard chat`: a terminal conversation with a running gateway, sending signed webhooks as Twilio would.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { signedFormHeaders } from '../../channels/index.js';
import { isE164 } from '../core/phone-number.js';

const DEFAULT_SANDBOX_TOKEN = 'sandbox-auth-token-0000000000000000';
const SANDBOX_ACCOUNT = 'AC00000000000000000000000000000000';

interface ChatOptions {
  url: string;
  publicUrl: string;
  bot: string;
  channel: 'sms' | 'whatsapp' | 'voice';
  from: string;
  to: string;
  accountSid: string;
  authToken: string;
}

function sid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

async function post(opts: ChatOptions, path: string, params: Record<string, string>): Promise<Response> {
  return fetch(opts.url + path, {
    method: 'POST',
    headers: signedFormHeaders(opts.authToken, opts.publicUrl + path, params),
    body: new URLSearchParams(params),
  });
}

/** Reads what the sandbox recorded for an address since `seen` messages. */
async function outbox(opts: ChatOptions, address: string): Promise<{ body: string }[]> {
  const res = await fetch(`${opts.url}/sandbox/outbox?to=${encodeURIComponent(address)}`);
  if (!res.ok) throw new Error(`GET /sandbox/outbox answered ${res.status}: is the gateway in sandbox mode?`);
  return (await res.json()) as { body: string }[];
}

/** Whether the gateway's conversation (of this call, on voice) waits for a secret answer; false when it cannot tell. */
async function awaitsSecret(opts: ChatOptions, identity: string, callSid?: string): Promise<boolean> {
  const query = new URLSearchParams({ bot: opts.bot, address: identity, ...(callSid ? { callSid } : {}) });
  const res = await fetch(`${opts.url}/sandbox/user?${query.toString()}`).catch(() => undefined);
  if (!res?.ok) return false;
  const user = (await res.json().catch(() => ({}))) as { conversation?: { awaitingSecret?: unknown } };
  return user.conversation?.awaitingSecret === true;
}

/**
 * The terminal as readline writes to it: muted while a secret answer is typed, so that readline's echo of
 * the keys (and of its line editing) never reaches the screen, the way Node's readline docs suggest.
 */
class MutableOutput extends Writable {
  muted = false;
  constructor(private readonly target: NodeJS.WriteStream) {
    super();
    target.on('resize', () => this.emit('resize'));
  }
  get columns(): number {
    return this.target.columns;
  }
  override _write(chunk: Buffer | string, encoding: BufferEncoding, done: (error?: Error | null) => void) {
    if (!this.muted) this.target.write(chunk, encoding);
    done();
  }
}

/** Reads the user's lines one at a time; works for a terminal and for piped input alike. */
class LineReader {
  private readonly lines: AsyncIterator<string>;
  constructor(
    private readonly rl: ReturnType<typeof createInterface>,
    private readonly output: MutableOutput,
  ) {
    this.lines = rl[Symbol.asyncIterator]();
  }
  /** A secret line is read with the echo off and its prompt says "(hidden)"; it is shown nowhere. */
  async next(prompt: string, secret = false): Promise<string | undefined> {
    const shown = secret ? `${prompt.replace(/> $/, '')} (hidden)> ` : prompt;
    const tty = process.stdin.isTTY;
    if (tty) {
      // Written as it is (rl.prompt() would first clear the line with escape codes); readline still knows
      // it, to redraw the line after a backspace.
      this.rl.setPrompt(shown);
      process.stdout.write(shown);
      this.output.muted = secret;
    }
    let line: IteratorResult<string>;
    try {
      line = await this.lines.next();
    } finally {
      this.output.muted = false;
    }
    if (line.done) return undefined;
    // readline's own newline after the answer was muted with the answer.
    if (tty && secret) process.stdout.write('\n');
    if (!tty) process.stdout.write(`${shown}${secret ? '' : line.value}\n`);
    return line.value;
  }
}

async function messagingChat(opts: ChatOptions, reader: LineReader) {
  const prefix = opts.channel === 'whatsapp' ? 'whatsapp:' : '';
  const address = prefix + opts.from;
  let seen = (await outbox(opts, address)).length;
  process.stdout.write(`Chatting with ${opts.bot} on ${opts.channel} as ${opts.from}. Ctrl-D to quit.\n`);
  for (;;) {
    const line = await reader.next('you> ', await awaitsSecret(opts, `${opts.channel}:${opts.from}`));
    if (line === undefined) return;
    const params: Record<string, string> = {
      MessageSid: sid('SM'),
      AccountSid: opts.accountSid,
      From: address,
      To: prefix + opts.to,
      Body: line,
      NumMedia: '0',
    };
    if (opts.channel === 'whatsapp') params.WaId = opts.from.slice(1);
    const res = await post(opts, `/webhooks/${opts.channel}`, params);
    if (!res.ok) {
      process.stdout.write(`(gateway answered ${res.status}: ${await res.text()})\n`);
      continue;
    }
    // Replies leave through the send queue; show them as they arrive, until the bot goes quiet.
    let quietSince = Date.now();
    while (Date.now() - quietSince < 1500) {
      await new Promise((r) => setTimeout(r, 100));
      const messages = await outbox(opts, address);
      for (const m of messages.slice(seen)) process.stdout.write(`bot> ${m.body}\n`);
      if (messages.length > seen) quietSince = Date.now();
      seen = messages.length;
    }
  }
}

interface VoiceStep {
  says: string[];
  gather?: { action: string; numDigits?: string };
  redirect?: string;
  hangup: boolean;
}

function readTwiml(xml: string): VoiceStep {
  const decode = (s: string) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  const says = [...xml.matchAll(/<Say[^>]*>([\s\S]*?)<\/Say>/g)].map((m) => decode(m[1]!));
  const gatherTag = /<Gather([^>]*)>/.exec(xml)?.[1];
  const attr = (tag: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1];
  const redirect = /<Redirect[^>]*>([^<]*)<\/Redirect>/.exec(xml)?.[1];
  return {
    says,
    ...(gatherTag
      ? {
          gather: {
            action: decode(attr(gatherTag, 'action') ?? ''),
            numDigits: attr(gatherTag, 'numDigits'),
          },
        }
      : {}),
    ...(redirect ? { redirect: decode(redirect) } : {}),
    hangup: /<Hangup\/>/.test(xml),
  } as VoiceStep;
}

async function voiceChat(opts: ChatOptions, reader: LineReader) {
  const callSid = sid('CA');
  const base = {
    CallSid: callSid,
    AccountSid: opts.accountSid,
    From: opts.from,
    To: opts.to,
    Direction: 'inbound',
  };
  process.stdout.write(
    `Calling ${opts.bot} as ${opts.from}. Type digits and Enter to press keys, "quoted words" to speak; ` +
      'empty Enter is silence.\n',
  );
  let res = await post(opts, '/webhooks/voice', { ...base, CallStatus: 'ringing' });
  for (;;) {
    const xml = await res.text();
    if (!res.ok) {
      process.stdout.write(`(gateway answered ${res.status}: ${xml})\n`);
      return;
    }
    const step = readTwiml(xml);
    for (const text of step.says) process.stdout.write(`bot> ${text}\n`);
    const path = (url: string) => url.replace(opts.publicUrl, '');
    if (step.redirect) {
      res = await post(opts, path(step.redirect), { ...base, CallStatus: 'in-progress' });
      continue;
    }
    if (step.gather) {
      const keys = await reader.next('keys> ', await awaitsSecret(opts, `voice:${opts.from}`, callSid));
      if (keys === undefined) break;
      // A quoted line is speech, as Twilio's speech recognition reports it; anything else is keys.
      const speech = /^\s*"(.*)"\s*$/.exec(keys)?.[1]?.trim();
      res = await post(opts, path(step.gather.action), {
        ...base,
        CallStatus: 'in-progress',
        ...(speech !== undefined
          ? { SpeechResult: speech, Confidence: '0.92' }
          : {
              // Twilio leaves the finishing key out of Digits and reports it apart.
              Digits: keys.replace(/#$/, '').replace(/[^0-9*#]/g, ''),
              FinishedOnKey: keys.endsWith('#') ? '#' : '',
            }),
      });
      continue;
    }
    break;
  }
  await post(opts, '/webhooks/voice/status', { ...base, CallStatus: 'completed' });
  process.stdout.write('(call ended)\n');
}

export async function runChat(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      bot: { type: 'string' },
      channel: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? 3000}` },
      'public-url': { type: 'string' },
      'account-sid': { type: 'string', default: SANDBOX_ACCOUNT },
      'auth-token': {
        type: 'string',
        default: process.env.SWITCHBOARD_SANDBOX_AUTH_TOKEN ?? DEFAULT_SANDBOX_TOKEN,
      },
    },
  });
  const channel = values.channel;
  if (!values.bot || !values.from || (channel !== 'sms' && channel !== 'whatsapp' && channel !== 'voice')) {
    process.stderr.write(
      'Usage: switchboard chat --bot ID --channel sms|whatsapp|voice --from +E164 [--url URL] [--to +E164]\n',
    );
    return 1;
  }
  if (!isE164(values.from)) {
    process.stderr.write(`--from must be an E.164 number like +15551234567 (got ${values.from}).\n`);
    return 1;
  }
  const url = values.url.replace(/\/$/, '');
  let to = values.to;
  let publicUrl = values['public-url'];
  if (!to || !publicUrl) {
    // Sandbox gateways describe their bots, so the numbers need not be typed.
    const res = await fetch(`${url}/sandbox/bots`).catch(() => undefined);
    if (!res?.ok) {
      process.stderr.write(
        `Cannot reach a sandbox gateway at ${url}; give --to and --public-url for other gateways.\n`,
      );
      return 1;
    }
    const info = (await res.json()) as {
      publicUrl: string;
      bots: { id: string; numbers: Record<string, string[]> }[];
    };
    publicUrl ??= info.publicUrl;
    to ??= info.bots.find((b) => b.id === values.bot)?.numbers[channel]?.[0];
    if (!to) {
      process.stderr.write(
        `Bot ${values.bot} has no ${channel} number. Bots: ${info.bots.map((b) => b.id).join(', ')}\n`,
      );
      return 1;
    }
  }
  const opts: ChatOptions = {
    url,
    publicUrl,
    bot: values.bot,
    channel,
    from: values.from,
    to,
    accountSid: values['account-sid'],
    authToken: values['auth-token'],
  };
  const output = new MutableOutput(process.stdout);
  // No history: the up arrow must not bring back a secret answer.
  const rl = createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY, historySize: 0 });
  // Ctrl-C: readline sees it in raw mode (a pipe gets the signal); either way the terminal is given back
  // (close leaves raw mode), the shell's prompt starts on a line of its own, and the exit says interrupted.
  const interrupted = () => {
    output.muted = false;
    rl.close();
    process.stdout.write('\n');
    process.exit(130);
  };
  rl.on('SIGINT', interrupted);
  process.once('SIGINT', interrupted);
  try {
    const reader = new LineReader(rl, output);
    if (channel === 'voice') await voiceChat(opts, reader);
    else await messagingChat(opts, reader);
  } finally {
    rl.close();
  }
  return 0;
}
