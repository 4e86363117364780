// `switchboard chat` in a real pseudo-terminal (util-linux's `script`) against a real sandbox gateway:
// secret answers are never echoed, Ctrl-C gives the shell its line back, a quoted line on a call is speech.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botYaml } from '../../support/config.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { CLI, ensureBuilt, REPO_ROOT } from '../../support/processes.js';

const PASSWORD = 'hunter2-Secret';
const KEYED_SECRET = '97531';

const CHAT_BANK = botYaml(
  'chat-bank',
  `    flows:
      main:
        - say: "Welcome to Chat Bank."
        - ask: { prompt: "What would you like?", save: wish }
        - say: "You asked for {{wish}}."
        - ask: { prompt: "Your password?", save: password, secret: true }
        - end: "Thank you. Goodbye."`,
);

/**
 * A command in a pseudo-terminal: what it printed so far (each line end, `\r\n` or readline's `\r\r\n`
 * once through the terminal, read as `\n`), keys typed into it, and how it ended.
 */
interface Terminal {
  output(): string;
  /** Resolves once the output after `from` characters contains `text`; fails with the output after 20 s. */
  waitFor(text: string, from?: number): Promise<number>;
  type(keys: string): void;
  exited: Promise<number | null>;
}

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Runs `node dist/src/main/cli.js chat …` under `script`, which gives it a terminal of its own. */
function chatInTerminal(args: string[], env: Record<string, string>): Terminal {
  const command = [process.execPath, CLI, 'chat', ...args].map(quote).join(' ');
  const child: ChildProcess = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', TERM: 'xterm', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = new Set<() => void>();
  const changed = () => waiters.forEach((w) => w());
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    changed();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    changed();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let ended = false;
  void exited.then(() => {
    ended = true;
    changed();
  });
  const screen = () => output.replace(/\r+\n/g, '\n');
  return {
    output: screen,
    waitFor(text, from = 0) {
      return new Promise<number>((resolve, reject) => {
        const check = () => {
          const at = screen().indexOf(text, from);
          if (at >= 0 || ended) {
            waiters.delete(check);
            clearTimeout(timer);
            if (at >= 0) resolve(at + text.length);
            else reject(new Error(`chat ended without printing ${JSON.stringify(text)}:\n${screen()}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${JSON.stringify(text)} after 20 s:\n${JSON.stringify(screen())}`));
        }, 20_000);
        waiters.add(check);
        check();
      });
    },
    type: (keys) => void child.stdin!.write(keys),
    exited,
  };
}

describe('switchboard chat in a terminal', () => {
  let h: Harness;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (spawnSync('script', ['--version']).status !== 0) {
      throw new Error("util-linux's script is missing: install bsdutils (apt-get install -y bsdutils).");
    }
    ensureBuilt();
    h = await startHarness({ bots: CHAT_BANK, sandbox: true, label: 'chat-pty', logLevel: 'warn' });
    env = { SWITCHBOARD_SANDBOX_AUTH_TOKEN: h.env.SWITCHBOARD_SANDBOX_AUTH_TOKEN! };
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('hides the answer to a secret prompt, shows the replies, and Ctrl-C ends on a new line with 130', async () => {
    const chat = chatInTerminal(
      ['--bot', 'chat-bank', '--channel', 'sms', '--from', '+15551239001', '--url', h.main!.url!],
      env,
    );
    let at = await chat.waitFor('Chatting with chat-bank on sms as +15551239001. Ctrl-D to quit.\nyou> ');
    chat.type('hi\r');
    at = await chat.waitFor('bot> What would you like?\n', at);
    at = await chat.waitFor('you> ', at);
    chat.type('my balance\r');
    // What is typed at an ordinary prompt is echoed as the user types it.
    at = await chat.waitFor('you> my balance\n', at - 'you> '.length);
    at = await chat.waitFor('bot> You asked for my balance.\nbot> Your password?\n', at);
    at = await chat.waitFor('you (hidden)> ', at);
    chat.type(`${PASSWORD}\r`);
    at = await chat.waitFor('bot> Thank you. Goodbye.\n', at);
    // The answer left no trace on the screen: the hidden prompt, then a bare newline, then the reply.
    expect(chat.output()).toContain('you (hidden)> \nbot> Thank you. Goodbye.\n');
    at = await chat.waitFor('you> ', at);

    chat.type('\x03');
    expect(await chat.exited).toBe(130);
    // The shell's prompt comes on a line of its own.
    expect(chat.output().slice(at - 'you> '.length)).toBe('you> \n');
    expect(chat.output()).not.toContain(PASSWORD);
  }, 60_000);

  it('on a call, a quoted line is speech (SpeechResult) and a secret answer in keys is hidden', async () => {
    const chat = chatInTerminal(
      ['--bot', 'chat-bank', '--channel', 'voice', '--from', '+15551239002', '--url', h.main!.url!],
      env,
    );
    let at = await chat.waitFor(
      'Calling chat-bank as +15551239002. Type digits and Enter to press keys, "quoted words" to speak; ' +
        'empty Enter is silence.\n',
    );
    at = await chat.waitFor('bot> Welcome to Chat Bank.\nbot> What would you like?\nkeys> ', at);
    chat.type('"my balance"\r');
    // The next TwiML says what the gateway heard: the words, not keys.
    at = await chat.waitFor('bot> You asked for my balance.\nbot> Your password?\nkeys (hidden)> ', at);
    chat.type(`${KEYED_SECRET}\r`);
    await chat.waitFor('keys (hidden)> \nbot> Thank you. Goodbye.\n(call ended)\n', at - 15);
    expect(await chat.exited).toBe(0);
    expect(chat.output()).not.toContain(KEYED_SECRET);
  }, 60_000);
});
