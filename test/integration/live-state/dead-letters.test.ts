// Dead letters through the real gateway: listed with their id, reason and event id (never the event), paged,
// entries of earlier versions still listed; replayed at the tail of the inbox and handled; and the CLI.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTERS_USAGE } from '../../../src/main/dead-letters-cli.js';
import { places } from '../../../src/store/places.js';
import { ACCOUNT_SID } from '../../support/config.js';
import { CLI, REPO_ROOT } from '../../support/processes.js';
import { newSid } from '../../support/webhooks.js';
import { botOn, NUMBERS, startDialogHarness, type DialogHarness } from '../dialog/helpers.js';
import { API_KEY, KEY_FINGERPRINT, allPages, api } from './helpers.js';

/** "go" loops forever (a DialogError: dead-lettered at once) until the conversation was armed. */
const RELAY = botOn(
  'relay',
  `    flows:
      main:
        - ask: { prompt: "Say arm or go.", save: answer }
        - switch: { value: "{{answer}}", cases: { arm: arm, go: go }, default: main }
      arm:
        - set: { armed: "ready" }
        - say: "Armed."
        - goto: main
      go:
        - switch: { value: "{{armed}}", cases: { ready: went }, default: go }
      went:
        - say: "Went."
        - goto: main`,
  { sms: NUMBERS.sms },
);

let h: DialogHarness;
beforeAll(async () => {
  h = await startDialogHarness({ bots: RELAY, label: 'live-dead' });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = { SWITCHBOARD_API_KEY: API_KEY }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'dead-letters', ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('dead letters', () => {
  it('lists them (old entries too), pages them, replays one at the tail of its inbox, and the turn is handled', async () => {
    const c = h.sms('+12025550201');
    expect(await c.send('hi')).toEqual(['Say arm or go.']);
    const poison = newSid();
    await c.post('go', { MessageSid: poison });
    const dead = await h.base.waitForTurn(poison);
    expect(dead.outcome).toBe('dead-lettered');
    const reason = dead.reason!;
    expect(reason).toMatch(/^DialogError: /);

    // An entry as earlier versions wrote it: no id, no workspace, no bot (its sealed event names the bot).
    const old = h.sms('+12025550202');
    const oldCid = h.cid('relay', old.identity);
    const oldEvent = {
      id: newSid(),
      kind: 'message',
      botId: 'relay',
      channel: 'sms',
      identity: old.identity,
      from: old.from,
      to: NUMBERS.sms,
      provider: { accountSid: ACCOUNT_SID },
      text: 'arm',
      receivedAt: Date.now(),
    };
    const oldAt = Date.now() - 3_600_000;
    const sealedEvent = h.cipher.seal(JSON.stringify(oldEvent), places.conversation(oldCid, 'inbox'));
    const legacy = JSON.stringify({
      cid: oldCid,
      eventId: oldEvent.id,
      reason: 'Error: then',
      at: oldAt,
      sealedEvent,
    });
    await h.redis.rpush(h.keys.deadLetters(), legacy);

    const stored = (await h.base.deadLetters())[0]!;
    const cid = h.cid('relay', c.identity);
    const id = (stored as unknown as { id: string }).id;
    expect(id).toMatch(/^[A-Za-z0-9_-]{12}$/);
    const fresh = { id, conversation: cid, bot: 'relay', eventId: poison, reason, at: iso(stored.at) };
    const listed = await api(h, 'GET', '/v1/dead-letters');
    expect(listed.status).toBe(200);
    const legacyId = (listed.json as { deadLetters: { id: string }[] }).deadLetters[1]!.id;
    expect(legacyId).toMatch(/^legacy-[A-Za-z0-9_-]{16}$/);
    const oldItem = {
      id: legacyId,
      conversation: oldCid,
      bot: 'relay',
      eventId: oldEvent.id,
      reason: 'Error: then',
      at: iso(oldAt),
    };
    expect(listed.json).toEqual({ deadLetters: [fresh, oldItem], nextCursor: null });
    expect(listed.text).not.toContain(sealedEvent.slice(0, 40));
    expect(await allPages(h, '/v1/dead-letters?limit=1', 'deadLetters')).toEqual({
      sizes: [1, 1],
      items: [fresh, oldItem],
    });

    // The CLI: a table, newest first; a page at a time.
    const url = h.url;
    const table = await cli(['list', '--url', url]);
    expect(table).toEqual({
      code: 0,
      stderr: '',
      stdout: tableOf([fresh, oldItem]),
    });
    const page = await cli(['list', '--limit', '1', '--url', url]);
    expect(page.code).toBe(0);
    const more = /^More: switchboard dead-letters list --cursor ([A-Za-z0-9_-]+)\n$/m.exec(page.stdout);
    expect(page.stdout).toBe(
      `${tableOf([fresh])}More: switchboard dead-letters list --cursor ${more?.[1]}\n`,
    );
    const json = await cli(['list', '--json', '--url', url]);
    expect(JSON.parse(json.stdout)).toEqual({ deadLetters: [fresh, oldItem], nextCursor: null });

    // Armed now, the replayed "go" goes: it is handled after what waits, with the state the conversation has.
    expect(await c.send('arm')).toEqual(['Armed.', 'Say arm or go.']);
    const before = h.twilio.messagesTo(c.address).length;
    const replayed = await cli(['replay', id, '--url', url]);
    expect(replayed).toEqual({
      code: 0,
      stderr: '',
      stdout: `Replayed ${id}: event ${poison} is queued again in conversation ${cid}.\n`,
    });
    const after = await h.twilio.waitForMessages(c.address, before + 2);
    expect(after.slice(before).map((m) => m.body)).toEqual(['Went.', 'Say arm or go.']);
    const outcomes = h.base.turns.finished().filter((t) => t.eventId === poison);
    expect(outcomes.map((t) => t.outcome)).toEqual(['dead-lettered', 'handled']);
    expect(await h.redis.llen(h.keys.inbox(cid))).toBe(0);

    // Through the API: the old entry, replayed, is handled in its own conversation (its first message).
    const viaApi = await api(h, 'POST', `/v1/dead-letters/${legacyId}/replay`);
    expect(viaApi.status).toBe(202);
    expect(viaApi.json).toEqual({ deadLetter: oldItem, queued: 'tail' });
    const oldReplies = await h.twilio.waitForMessages(old.address, 1);
    expect(oldReplies.map((m) => m.body)).toEqual(['Say arm or go.']);
    expect(await api(h, 'GET', '/v1/dead-letters').then((r) => r.json)).toEqual({
      deadLetters: [],
      nextCursor: null,
    });

    // A second replay finds nothing: 404 on the API, a sentence and exit 1 on the CLI.
    expect((await api(h, 'POST', `/v1/dead-letters/${id}/replay`)).json).toEqual({
      error: { code: 'dead_letter_not_found', message: 'No such dead letter in this workspace.' },
    });
    expect(await cli(['replay', id, '--url', url])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'No such dead letter in this workspace.\n',
    });
    // An id is random base64url: one that begins with a dash is still the id, not a flag.
    expect(await cli(['replay', '-55UCUiNFtVf', '--url', url])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'No such dead letter in this workspace.\n',
    });
    expect(await cli(['list', '--url', url])).toEqual({ code: 0, stdout: 'No dead letters.\n', stderr: '' });

    // Each replay is in the audit log, by the key's fingerprint.
    const audit = (await api(h, 'GET', '/v1/audit')).json as { entries: Record<string, unknown>[] };
    expect(audit.entries.map(({ action, key, target }) => ({ action, key, target }))).toEqual([
      {
        action: 'dead-letter.replay',
        key: KEY_FINGERPRINT,
        target: { deadLetter: legacyId, conversation: oldCid, bot: 'relay' },
      },
      {
        action: 'dead-letter.replay',
        key: KEY_FINGERPRINT,
        target: { deadLetter: id, conversation: cid, bot: 'relay' },
      },
    ]);
  });

  it('the CLI: --help, a missing key, an unknown action, an unreachable gateway, a wrong key', async () => {
    expect(await cli(['--help'])).toEqual({ code: 0, stdout: `${DEAD_LETTERS_USAGE}\n`, stderr: '' });
    expect(await cli(['list'], {})).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Set SWITCHBOARD_API_KEY to a workspace API key.\n',
    });
    expect(await cli(['frob'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `Say list or replay <id>.\n\n${DEAD_LETTERS_USAGE}\n`,
    });
    expect(await cli(['replay'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `Name the dead letter to replay.\n\n${DEAD_LETTERS_USAGE}\n`,
    });
    expect(await cli(['list', '--url', 'http://127.0.0.1:1'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Cannot reach the gateway at http://127.0.0.1:1.\n',
    });
    expect(await cli(['list', '--url', h.url], { SWITCHBOARD_API_KEY: 'not-a-key' })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'The API key is not valid.\n',
    });
  });
});

/** The CLI's table, built here from the rows the API gave. */
function tableOf(
  rows: { id: string; at: string; bot: string; conversation: string; eventId: string; reason: string }[],
) {
  const cells = [
    ['ID', 'AT', 'BOT', 'CONVERSATION', 'EVENT', 'REASON'],
    ...rows.map((r) => [r.id, r.at, r.bot, r.conversation, r.eventId, r.reason]),
  ];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return (
    cells
      .map((row) => row.map((cell, i) => (i === 5 ? cell : cell.padEnd(widths[i]!))).join('  '))
      .join('\n') + '\n'
  );
}
