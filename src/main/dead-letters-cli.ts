// `switchboard dead-letters list|replay <id>`: the operator API's dead letters, from a terminal.
import { parseArgs } from 'node:util';
import { readEnv } from '../env.js';

export const DEAD_LETTERS_USAGE = `Usage: switchboard dead-letters list [--limit N] [--cursor C] [--json] [--url URL]
       switchboard dead-letters replay <id> [--url URL]

  list          the workspace's dead letters, newest first: id, time, bot, conversation, event, reason
  replay <id>   put the dead letter's event back at the end of its conversation's inbox and run it

Options:
  --url URL     the gateway (default http://127.0.0.1:3000, or PORT's)
  --limit N     how many to list (1 to 200, default 50)
  --cursor C    the page after the one that printed this cursor
  --json        print the operator API's answer as it is
  --help        this text

The workspace API key comes from SWITCHBOARD_API_KEY. Exit status: 0 done, 1 refused or unreachable.`;

interface Streams {
  out: (text: string) => void;
  err: (text: string) => void;
}

interface DeadLetterJson {
  id: string;
  conversation: string;
  bot: string | null;
  eventId: string;
  reason: string;
  at: string;
}

/** Runs the command; returns its exit status. Every refusal is one line on stderr. */
export async function runDeadLetters(args: string[], io: Streams): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: idAsPositional(args),
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${DEAD_LETTERS_USAGE}\n`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(`${DEAD_LETTERS_USAGE}\n`);
    return 0;
  }
  const [action, id, ...extra] = positionals;
  const wellFormed = (action === 'list' && id === undefined) || (action === 'replay' && id !== undefined);
  if (!wellFormed || extra.length > 0) {
    io.err(
      `${action === 'replay' ? 'Name the dead letter to replay.' : 'Say list or replay <id>.'}\n\n${DEAD_LETTERS_USAGE}\n`,
    );
    return 1;
  }
  const env = readEnv();
  const key = env.SWITCHBOARD_API_KEY;
  if (!key) {
    io.err('Set SWITCHBOARD_API_KEY to a workspace API key.\n');
    return 1;
  }
  const base = (values.url ?? `http://127.0.0.1:${env.PORT ?? 3000}`).replace(/\/+$/, '');
  const call = async (method: string, path: string) => {
    try {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
      const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      return { status: res.status, body };
    } catch {
      throw new CliRefusal(`Cannot reach the gateway at ${base}.`);
    }
  };
  try {
    if (action === 'list') {
      const query = new URLSearchParams();
      if (values.limit !== undefined) query.set('limit', values.limit);
      if (values.cursor !== undefined) query.set('cursor', values.cursor);
      const { status, body } = await call('GET', `/v1/dead-letters${query.size ? `?${query}` : ''}`);
      if (status !== 200) throw new CliRefusal(refusal(body, status));
      if (values.json) {
        io.out(`${JSON.stringify(body, null, 2)}\n`);
        return 0;
      }
      const letters = body.deadLetters as DeadLetterJson[];
      if (letters.length === 0) io.out('No dead letters.\n');
      else io.out(table(letters));
      if (typeof body.nextCursor === 'string') {
        io.out(`More: switchboard dead-letters list --cursor ${body.nextCursor}\n`);
      }
      return 0;
    }
    const { status, body } = await call('POST', `/v1/dead-letters/${encodeURIComponent(id!)}/replay`);
    if (status !== 202) throw new CliRefusal(refusal(body, status));
    if (values.json) {
      io.out(`${JSON.stringify(body, null, 2)}\n`);
      return 0;
    }
    const letter = body.deadLetter as DeadLetterJson;
    io.out(
      `Replayed ${letter.id}: event ${letter.eventId} is queued again in conversation ${letter.conversation}.\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof CliRefusal)) throw error;
    io.err(`${error.message}\n`);
    return 1;
  }
}

/**
 * A dead letter's id is random base64url and can begin with a dash (`-55UCUiNFtVf`), which the option parser
 * would read as flags. The word after `replay` is the id whatever it looks like, so it is moved behind a `--`.
 */
function idAsPositional(args: string[]): string[] {
  const at = args.indexOf('replay');
  const id = args[at + 1];
  if (at < 0 || id === undefined || !/^-[^-]/.test(id) || args.includes('--')) return args;
  return [...args.slice(0, at + 1), ...args.slice(at + 2), '--', id];
}

class CliRefusal extends Error {
  override readonly name = 'CliRefusal';
}

function refusal(body: Record<string, unknown>, status: number): string {
  const error = body.error as { message?: unknown } | undefined;
  return typeof error?.message === 'string' ? error.message : `The gateway answered ${status}.`;
}

function table(letters: DeadLetterJson[]): string {
  const rows = [
    ['ID', 'AT', 'BOT', 'CONVERSATION', 'EVENT', 'REASON'],
    ...letters.map((d) => [d.id, d.at, d.bot ?? '-', d.conversation, d.eventId, d.reason]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '),
    )
    .join('\n')
    .concat('\n');
}
