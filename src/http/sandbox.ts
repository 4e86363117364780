// Sandbox-only endpoints: what would have been sent through the provider's REST API, and which bots answer where.
import express, { type Router } from 'express';
import type { SandboxRecorder } from '../../channels/index.js';
import type { Directory } from '../config/directory.js';

export interface SandboxRouterOptions {
  /** Set while shutting down: long-polls answer at once, so they do not hold the server open. */
  draining?: () => boolean;
}

/** The longest a `GET /sandbox/outbox?waitMs=` long-poll is held open. */
export const OUTBOX_MAX_WAIT_MS = 25_000;
const OUTBOX_POLL_MS = 100;

/** A message the simulator kept for the user's side of the thread, not a reply. */
function inbound(message: object): boolean {
  return (message as { direction?: unknown }).direction === 'in';
}

function wholeNumber(raw: unknown, max: number): number | undefined | 'invalid' {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw)) return 'invalid';
  return Math.min(Number(raw), max);
}

export function sandboxRouter(
  recorder: SandboxRecorder,
  directory: () => Directory,
  options: SandboxRouterOptions = {},
): Router {
  const router = express.Router();
  const draining = options.draining ?? (() => false);

  /**
   * The whole outbox of an address, or with `after=N` what came after the first N messages; with
   * `waitMs` as well, waits (long-poll) until something new arrives or the time is up. Only the replies
   * (what `switchboard chat` reads); with `thread=1`, the simulated user's own messages too, in order
   * (`direction: 'in'`, kept by the simulator), and `after` counts both.
   */
  router.get('/sandbox/outbox', async (req, res) => {
    const to = req.query.to;
    const thread = req.query.thread;
    const after = wholeNumber(req.query.after, Number.MAX_SAFE_INTEGER);
    const waitMs = wholeNumber(req.query.waitMs, OUTBOX_MAX_WAIT_MS);
    if (typeof to !== 'string' || to.length === 0 || to.length > 64) {
      return void res.status(400).json({
        error: {
          code: 'invalid_request',
          message: 'Give the address as ?to=+15551234567 or ?to=whatsapp:+15551234567.',
        },
      });
    }
    if (after === 'invalid' || waitMs === 'invalid') {
      return void res.status(400).json({
        error: {
          code: 'invalid_request',
          message: `after and waitMs must be whole numbers (waitMs up to ${OUTBOX_MAX_WAIT_MS}).`,
        },
      });
    }
    if (thread !== undefined && thread !== '1' && thread !== '0') {
      return void res.status(400).json({
        error: { code: 'invalid_request', message: 'thread must be 1 (replies and sent messages) or 0.' },
      });
    }
    const read = async () => {
      const all = await recorder.list(to);
      return thread === '1' ? all : all.filter((m) => !inbound(m));
    };
    let messages = (await read()).slice(after ?? 0);
    if (messages.length === 0 && waitMs) {
      let gone = false;
      res.on('close', () => (gone = true));
      const deadline = Date.now() + waitMs;
      while (messages.length === 0 && !gone && !draining() && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, OUTBOX_POLL_MS));
        messages = (await read()).slice(after ?? 0);
      }
      if (gone) return;
    }
    res.set('Cache-Control', 'no-store').json(messages);
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
