// The benchmark's baseline: a bare express handler that parses a Twilio-sized form and answers TwiML.
import express from 'express';
import type { AddressInfo } from 'node:net';

const app = express();
app.disable('x-powered-by');
app.post('/webhooks/sms', express.urlencoded({ extended: false, limit: '64kb' }), (req, res) => {
  if (typeof req.body?.MessageSid !== 'string') return void res.status(400).end();
  res.status(200).type('text/xml').send('<?xml version="1.0" encoding="UTF-8"?><Response/>');
});
const server = app.listen(0, '127.0.0.1', () => {
  // The parent reads this line to learn the port.
  process.stdout.write(
    `${JSON.stringify({ message: 'listening', port: (server.address() as AddressInfo).port })}\n`,
  );
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
