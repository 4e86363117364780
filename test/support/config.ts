// Test configuration: the Twilio account, numbers and public URL tests use, and a YAML builder around bots.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The Twilio account of the tests (Twilio's documented example shape: AC + 32 hex digits). */
export const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
/** Its auth token: it signs webhooks and authenticates the REST client; passed through the environment. */
export const AUTH_TOKEN = 'test-auth-token-0123456789abcdef';
/** Where Twilio would reach the gateway: signatures are computed over it, TwiML URLs point at it. */
export const PUBLIC_URL = 'https://switchboard.test';

/** The numbers of the default test bot, one per channel. */
export const NUMBERS = {
  sms: '+15005550006',
  whatsapp: '+14155238886',
  voice: '+15005550007',
} as const;

/** A random data key (32 bytes, base64) for SWITCHBOARD_DATA_KEY. */
export function dataKey(): string {
  return randomBytes(32).toString('base64');
}

export interface TestConfigOptions {
  /** The `bots:` section, indented as a mapping under `bots:` (2 spaces for bot ids). */
  bots: string;
  /** The fake Twilio API's URL; without it there is no twilio section (sandbox mode). */
  twilioApiUrl?: string;
  /** The test workspace's allowHosts; without it the file names none. */
  allowHosts?: string[];
}

/**
 * A whole configuration file. Secrets stay in the environment (`${TWILIO_AUTH_TOKEN}`), as the
 * configuration guide asks, so the file a worker process reads is the one the in-process gateway reads.
 */
export function testConfigYaml(opts: TestConfigOptions): string {
  const twilio = opts.twilioApiUrl
    ? [
        'twilio:',
        '  accountSid: ${TWILIO_ACCOUNT_SID}',
        '  authToken: ${TWILIO_AUTH_TOKEN}',
        `  apiBaseUrl: ${opts.twilioApiUrl}`,
      ].join('\n')
    : '';
  return [
    'server:',
    '  publicUrl: ${PUBLIC_URL}',
    '  host: 127.0.0.1',
    '  port: 0',
    twilio,
    'workspaces:',
    '  test:',
    '    apiKeys: ["${TEST_API_KEY}"]',
    ...(opts.allowHosts ? [`    allowHosts: ${JSON.stringify(opts.allowHosts)}`] : []),
    'bots:',
    opts.bots.replace(/\s+$/, ''),
    '',
  ].join('\n');
}

/** A bot section with the default numbers, for `testConfigYaml({bots})`; `body` is indented 4 spaces. */
export function botYaml(id: string, body: string, numbers: Partial<typeof NUMBERS> = NUMBERS): string {
  const list = (n: string | undefined) => (n ? `["${n}"]` : '[]');
  return [
    `  ${id}:`,
    '    workspace: test',
    '    numbers:',
    `      sms: ${list(numbers.sms)}`,
    `      whatsapp: ${list(numbers.whatsapp)}`,
    `      voice: ${list(numbers.voice)}`,
    body.replace(/\s+$/, ''),
  ].join('\n');
}

/** The variables `${NAME}` in the test configuration refers to. */
export function configVariables(): Record<string, string> {
  return {
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    PUBLIC_URL,
    TEST_API_KEY: 'test-api-key-0123456789abcdef0123456789',
  };
}

/** Writes configuration files to a fresh temporary directory; returns its path and a remover. */
export async function writeConfigDirectory(
  files: Record<string, string>,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-test-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, 'utf8');
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes the configuration to a fresh temporary directory; returns its path and a remover. */
export async function writeConfigFile(yaml: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await writeConfigDirectory({ 'switchboard.yaml': yaml });
  return { path: join(dir.path, 'switchboard.yaml'), remove: dir.remove };
}
