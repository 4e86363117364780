// Sandbox-only endpoints: what would have been sent through Twilio's REST API, and which bots answer where.
import express, { type Router } from 'express';
import type { SandboxRecorder } from '../outbound/sandbox-recorder.js';
import type { Directory } from '../runtime/directory.js';

export function sandboxRouter(recorder: SandboxRecorder, directory: () => Directory): Router {
  const router = express.Router();
  router.get('/sandbox/outbox', async (req, res) => {
    const to = req.query.to;
    if (typeof to !== 'string' || to.length === 0 || to.length > 64) {
      return void res.status(400).json({
        error: {
          code: 'invalid_request',
          message: 'Give the address as ?to=+15551234567 or ?to=whatsapp:+15551234567.',
        },
      });
    }
    res.json(await recorder.list(to));
  });
  router.get('/sandbox/bots', (_req, res) => {
    const d = directory();
    res.json({
      publicUrl: d.publicUrl,
      bots: Object.entries(d.config.bots).map(([id, bot]) => ({
        id,
        workspace: bot.workspace,
        numbers: bot.numbers,
      })),
    });
  });
  return router;
}
