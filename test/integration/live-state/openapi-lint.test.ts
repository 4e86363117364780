// The OpenAPI document the gateway serves, linted by the real @redocly/cli: no error, no warning.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/processes.js';
import { botOn, NUMBERS, startDialogHarness, type DialogHarness } from '../dialog/helpers.js';

const REDOCLY = join(REPO_ROOT, 'node_modules/@redocly/cli/bin/cli.js');

let h: DialogHarness;
let dir: string;
beforeAll(async () => {
  h = await startDialogHarness({
    bots: botOn('plain', `    flows:\n      main:\n        - end: "Hi."`, { sms: NUMBERS.sms }),
    label: 'live-openapi',
  });
  dir = await mkdtemp(join(tmpdir(), 'switchboard-openapi-'));
}, 60_000);
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function redocly(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [REDOCLY, ...args],
      {
        cwd: dir,
        // No telemetry, no update check: the lint runs offline.
        env: {
          PATH: process.env.PATH ?? '',
          REDOCLY_TELEMETRY: 'off',
          REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('GET /v1/openapi.json', () => {
  it('lints clean with @redocly/cli (recommended rules): no error, no warning', async () => {
    const served = await fetch(`${h.url}/v1/openapi.json`);
    expect(served.status).toBe(200);
    const path = join(dir, 'openapi.json');
    await writeFile(path, await served.text());
    const lint = await redocly(['lint', path, '--format=json']);
    const report = JSON.parse(lint.stdout) as { totals: Record<string, number>; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
    expect(lint.code).toBe(0);
  }, 90_000);

  it('documents every operation’s 503, and answers 406 to a client that takes no JSON', async () => {
    const doc = (await (await fetch(`${h.url}/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const without = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => !op.responses['503'])
        .map(([method]) => `${method} ${path}`),
    );
    expect(without).toEqual(['get /v1/openapi.json']);
    const refused = await fetch(`${h.url}/v1/openapi.json`, { headers: { accept: 'text/html' } });
    expect(refused.status).toBe(406);
    expect(await refused.json()).toEqual({
      error: { code: 'not_acceptable', message: 'This document is JSON: accept application/json.' },
    });
  });
});
