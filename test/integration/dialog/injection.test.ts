// What users type cannot change a request's host, path segments, query, JSON structure or headers, nor run as a template.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  sendJson,
  startFakeOperatorApi,
  type FakeOperatorApi,
  type ReceivedRequest,
} from '../../fakes/operator-api.js';
import { botOn, startDialogHarness, type DialogHarness } from './helpers.js';

const BULK_NUMBER = '+15005550010';
const UNAVAILABLE = 'Sorry, that service is not available right now. Please try again later.';

function bots(api: string): string {
  return [
    botOn(
      'notes',
      `    flows:
      main:
        - set: { marker: "S3CRET-MARKER" }
        - ask: { prompt: "Your note?", save: note }
        - request:
            method: POST
            url: "${api}/v1/accounts/{{note}}/notes?tag={{note}}&fixed=1"
            headers: { X-Note: "note={{note}}", X-Fixed: "fixed" }
            body: { note: "{{note}}", nested: { list: ["{{note}}", "x{{note}}"] }, fixed: "ok" }
            save: { stored: "stored" }
        - end: "Stored {{stored}}: {{note}}"`,
    ),
    botOn(
      'bulk',
      `    flows:
      main:
        - ask: { prompt: "Your long note?", save: note }
        - request:
            method: PUT
            url: "${api}/v1/bulk"
            headers: { X-Note: "{{note}}" }
            body: { note: "{{note}}", fixed: "ok" }
        - end: "Noted {{note.size}} characters."`,
      { sms: BULK_NUMBER },
    ),
  ].join('\n');
}

// eslint-disable-next-line no-control-regex -- what a header may not carry
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g;

let api: FakeOperatorApi;
let h: DialogHarness;
let baselineHeaders: string[];

beforeAll(async () => {
  api = await startFakeOperatorApi();
  h = await startDialogHarness({ bots: bots(api.url), allowHosts: ['127.0.0.1'], label: 'injection' });
  // A harmless note first: the header names every request carries.
  const baseline = await noteRequest('plain');
  baselineHeaders = Object.keys(baseline.headers).sort();
});

afterAll(async () => {
  await h?.close();
  await api?.close();
});

/** Sends `note` through the notes bot; returns what the operator API received. */
async function noteRequest(note: string): Promise<ReceivedRequest> {
  const path = `/v1/accounts/${encodeURIComponent(note)}/notes`;
  api.route('POST', path, (_req, res) => sendJson(res, 200, { stored: 'yes' }));
  const before = api.requests.length;
  const c = h.sms();
  expect(await c.send('hi')).toEqual(['Your note?']);
  expect(await c.send(note)).toEqual([`Stored yes: ${note}`]);
  const received = api.requests.slice(before);
  expect(received).toHaveLength(1);
  return received[0]!;
}

const HOSTILE: [string, string][] = [
  ['a JSON breakout', '"}, "admin": true, "x": "'],
  ['path traversal with a query', '../../admin?x='],
  ['encoded CR LF', '%0d%0aX-Evil: 1'],
  ['a real CR LF', 'a\r\nX-Evil: 1\r\nX-Other: 2'],
  ['a template naming the token', '{{ authtoken }}'],
  ['a template naming a flow variable', '{{ marker }}'],
  ['a Liquid tag', '{% if true %}yes{% endif %}'],
];

describe('request templates with hostile values', () => {
  it.each(HOSTILE)(
    '%s stays data: host, path segments, query, headers and JSON unchanged',
    async (_what, note) => {
      const got = await noteRequest(note);

      // Host and path: one segment holds the whole value, encoded; nothing else moved.
      expect(got.method).toBe('POST');
      expect(got.headers.host).toBe(`127.0.0.1:${api.port}`);
      expect(got.url).toBe(
        `/v1/accounts/${encodeURIComponent(note)}/notes?tag=${encodeURIComponent(note)}&fixed=1`,
      );
      const url = new URL(got.url, 'http://operator.test');
      expect(url.pathname.split('/')).toEqual(['', 'v1', 'accounts', encodeURIComponent(note), 'notes']);
      expect([...url.searchParams.entries()]).toEqual([
        ['tag', note],
        ['fixed', '1'],
      ]);

      // Headers: the same names as a harmless request; the value with control characters removed.
      expect(Object.keys(got.headers).sort()).toEqual(baselineHeaders);
      expect(got.headers['x-note']).toBe(`note=${note.replace(CONTROL, '')}`);
      expect(got.headers['x-fixed']).toBe('fixed');
      expect(got.headers['x-evil']).toBeUndefined();

      // Body: built as data, the value is one string wherever it appears, not re-rendered.
      expect(got.headers['content-type']).toBe('application/json');
      expect(JSON.parse(got.body)).toEqual({ note, nested: { list: [note, `x${note}`] }, fixed: 'ok' });
      expect(got.body).not.toContain('S3CRET-MARKER');
    },
  );

  it('10 KB of hostile text reaches the API as one header value and one JSON string', async () => {
    const unit = '"}, "admin": true, ../../admin?x= %0d%0a\r\nX-Evil: 1 {{ authtoken }} {{ note }} ';
    const note = `start ${unit.repeat(Math.ceil(10_240 / unit.length))}`.slice(0, 10_240).trimEnd() + ' end';
    expect(note.length).toBeGreaterThanOrEqual(10_000);
    const before = api.requests.length;
    api.route('PUT', '/v1/bulk', (_req, res) => sendJson(res, 204, {}));
    const c = h.sms(undefined, BULK_NUMBER);
    expect(await c.send('hi')).toEqual(['Your long note?']);
    expect(await c.send(note)).toEqual([`Noted ${note.length} characters.`]);

    const received = api.requests.slice(before);
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual(['PUT /v1/bulk']);
    const got = received[0]!;
    expect(got.headers.host).toBe(`127.0.0.1:${api.port}`);
    expect(got.headers['x-note']).toBe(note.replace(CONTROL, ''));
    expect(got.headers['x-evil']).toBeUndefined();
    expect(JSON.parse(got.body)).toEqual({ note, fixed: 'ok' });
  });

  it('a value that would make a ".." path segment is refused and the user hears the clean error', async () => {
    const before = api.requests.length;
    const c = h.sms();
    await c.send('hi');
    expect(await c.send('..')).toEqual([UNAVAILABLE]);
    expect(api.requests.slice(before)).toEqual([]);
  });
});
