// The operator API's side of a handoff: the agent's replies to a handed-off conversation, and giving it back.
import { randomUUID } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { InboundEvent } from '../core/events.js';
import type { DialogState } from '../core/dialog.js';
import { ApiError } from './api-error.js';
import type { RouteKit } from './live-state.js';
import { AgentMessageBodySchema, ResumeBodySchema } from './openapi.js';
import type { LiveStateDeps } from './operator-api.js';

/** Conversation ids are hashes (a call's: two, joined by a dot): anything longer is no conversation. */
const MAX_ID = 200;

type Handed = {
  cid: string;
  botId: string;
  state: DialogState & { handoff: NonNullable<DialogState['handoff']> };
};

export function mountHandoff(router: Router, live: LiveStateDeps, kit: RouteKit): void {
  const { parse, callerOf, audited, now } = kit;

  /** The caller's workspace's conversation, handed off now; 404 for another's, 409 when not handed off. */
  const handedOff = async (
    req: Request,
    res: Response,
  ): Promise<Handed & { identity: string; channel: string }> => {
    const cid = kit.param(req, 'conversationId');
    const workspace = callerOf(res).workspace;
    const found =
      cid.length <= MAX_ID ? await live.conversations.liveConversation(workspace, cid) : undefined;
    if (!found) throw new ApiError(404, 'conversation_not_found', 'No such conversation in this workspace.');
    const { conversation, state } = found;
    if (!state?.handoff || state.pending?.kind !== 'handoff' || state.expiresAt <= now()) {
      throw new ApiError(
        409,
        'not_handed_off',
        'The conversation is not handed off to a person (no handoff step is holding it, or its idle timeout passed): the bot answers it.',
      );
    }
    return {
      cid,
      botId: conversation.botId,
      identity: conversation.identity,
      channel: conversation.channel,
      state: state as Handed['state'],
    };
  };

  /** Queues an operator's event in the conversation's inbox, after what the user sent, and runs it. */
  const queue = async (
    handed: Awaited<ReturnType<typeof handedOff>>,
    kind: 'agent' | 'resume',
    extra: Pick<InboundEvent, 'text' | 'resume'>,
  ): Promise<string> => {
    const { handoff } = handed.state;
    const id = `${kind}:${randomUUID()}`;
    const event: InboundEvent = {
      id,
      kind,
      botId: handed.botId,
      channel: handed.channel as InboundEvent['channel'],
      identity: handed.identity,
      from: handoff.from,
      to: handoff.to,
      ...(handoff.provider ? { provider: handoff.provider } : {}),
      receivedAt: now(),
      windowStart: handoff.lastInbound,
      ...extra,
    };
    await live.conversations.accept(handed.cid, event);
    await live.kick(handed.cid);
    return id;
  };

  router.post('/v1/conversations/:conversationId/messages', async (req, res) => {
    const body = parse(AgentMessageBodySchema, req.body, 'body');
    const handed = await handedOff(req, res);
    const id = await queue(handed, 'agent', { text: body.text });
    // What the agent wrote is the user's history's, never the audit log's.
    await audited(res, 'conversation.message', { conversation: handed.cid, bot: handed.botId });
    res.status(202).json({ conversation: handed.cid, id, queued: 'inbox' });
  });

  router.post('/v1/conversations/:conversationId/resume', async (req, res) => {
    // No body, or an empty one, is a resume at the step after the handoff.
    const raw: unknown = req.body === undefined || req.body === null ? {} : req.body;
    const body = parse(ResumeBodySchema, raw, 'body');
    const handed = await handedOff(req, res);
    if (body.flow !== undefined && !Object.hasOwn(kit.config().bots[handed.botId]?.flows ?? {}, body.flow)) {
      throw new ApiError(404, 'flow_not_found', `The bot "${handed.botId}" has no flow "${body.flow}".`);
    }
    const id = await queue(handed, 'resume', {
      text: '',
      ...(body.flow !== undefined ? { resume: { flow: body.flow } } : {}),
    });
    await audited(res, 'conversation.resume', { conversation: handed.cid, bot: handed.botId });
    res.status(202).json({ conversation: handed.cid, id, queued: 'inbox' });
  });
}
