// The side-by-side benchmark's baseline: the pipeline one would write by hand with none of Switchboard's
// guarantees. One process: express, the Twilio signature check, `queue.add` on BullMQ, a BullMQ worker
// (concurrency 32) sending the reply with the twilio package. No ordering, no dedupe, no encryption, no
// dialog state; a call's first turn is answered with a Gather at once.
// Environment: REDIS_URL, TWILIO_API_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_URL, PORT.
import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`baseline pipeline: set ${name}`);
  return value;
}

const redisUrl = required('REDIS_URL');
const apiUrl = required('TWILIO_API_URL');
const accountSid = required('TWILIO_ACCOUNT_SID');
const authToken = required('TWILIO_AUTH_TOKEN');
const publicUrl = required('PUBLIC_URL');

/** Points the twilio client at the fake API, as Switchboard's `twilio.apiBaseUrl` does (keep-alive alike). */
class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: string) {
    super({ timeout: 10_000, keepAlive: true });
  }

  override request<T>(opts: RequestClient.RequestOptions<T>) {
    const original = new URL(opts.uri);
    return super.request<T>({
      ...opts,
      uri: new URL(original.pathname + original.search, this.baseUrl).href,
    });
  }
}

interface ReplyJob {
  to: string;
  from: string;
  body: string;
}

const client = twilio(accountSid, authToken, {
  autoRetry: false,
  httpClient: new BaseUrlRequestClient(apiUrl),
});
const queue = new Queue<ReplyJob>('replies', {
  connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
  defaultJobOptions: { removeOnComplete: true, removeOnFail: 1000, attempts: 3 },
});
const worker = new Worker<ReplyJob>(
  'replies',
  async (job) => {
    await client.messages.create({ to: job.data.to, from: job.data.from, body: job.data.body });
  },
  { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), concurrency: 32 },
);
worker.on('error', (error) => process.stderr.write(`worker: ${String(error)}\n`));

/** Twilio's signature over the public URL and the form, or a 403. */
function signed(req: express.Request, res: express.Response): boolean {
  const signature = req.header('x-twilio-signature') ?? '';
  const body = (req.body ?? {}) as Record<string, string>;
  if (twilio.validateRequest(authToken, signature, publicUrl + req.originalUrl, body)) return true;
  res.status(403).type('text/plain').send('bad signature');
  return false;
}

const app = express();
app.disable('x-powered-by');
const form = express.urlencoded({ extended: false, limit: '64kb' });

app.post('/webhooks/sms', form, async (req, res) => {
  if (!signed(req, res)) return;
  const { From: from, To: to, Body: body } = req.body as Record<string, string | undefined>;
  if (!from || !to) return void res.status(400).type('text/plain').send('From and To are required');
  await queue.add('reply', { to: from, from: to, body: `got ${body ?? ''}` });
  res.status(200).type('text/xml').send('<?xml version="1.0" encoding="UTF-8"?><Response/>');
});

app.post('/webhooks/voice', form, (req, res) => {
  if (!signed(req, res)) return;
  const answer = new twilio.twiml.VoiceResponse();
  answer
    .gather({ input: ['dtmf'], numDigits: 4, timeout: 5, action: `${publicUrl}/webhooks/voice/gather` })
    .say('Enter your four digit code.');
  res.status(200).type('text/xml').send(answer.toString());
});

await worker.waitUntilReady();
await queue.waitUntilReady();
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  // The parent reads this line to learn the port.
  process.stdout.write(
    `${JSON.stringify({ message: 'listening', port: (server.address() as AddressInfo).port })}\n`,
  );
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => {
  server.close();
  void Promise.all([worker.close(), queue.close()]).then(() => process.exit(0));
});
