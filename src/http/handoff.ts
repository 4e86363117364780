// The operator API's side of a handoff: the agent's replies to a handed-off conversation, and giving it back.
import { randomUUID } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { ChannelRegistry } from '../../channels/index.js';
import type { Channel, InboundEvent } from '../core/events.js';
import type { DialogState } from '../core/dialog.js';
import type { Handoff } from '../core/dialog/state.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { ApiError } from './api-error.js';
import type { RouteKit } from './live-state.js';
import { AgentMessageBodySchema, ResumeBodySchema } from './openapi.js';
import type { LiveStateDeps } from './operator-api.js';

/** Conversation ids are hashes (a call's: two, joined by a dot): anything longer is no conversation. */
const MAX_ID = 200;

/** What queueing an operator's event for a handed-off conversation needs. */
export interface HandoffQueue {
  conversations: Pick<ConversationStore, 'accept' | 'state' | 'keys'>;
  /** Runs a conversation's inbox. */
  kick: (cid: string) => Promise<void>;
  now: () => number;
}

/** The conversation's handoff, while a person has it (not past its idle timeout); undefined otherwise. */
export function handoffOf(state: DialogState | null, now: number): Handoff | undefined {
  return state?.handoff && state.pending?.kind === 'handoff' && state.expiresAt > now
    ? state.handoff
    : undefined;
}

/**
 * Queues an operator's event (the agent's text, or a resume) in the conversation's inbox, after whatever the
 * user sent before, and runs it: the worker handles it in that order, on whichever process. Returns its id.
 */
export async function queueForHandoff(
  deps: HandoffQueue,
  to: { cid: string; botId: string; channel: Channel; identity: string; handoff: Handoff },
  kind: 'agent' | 'resume',
  extra: Pick<InboundEvent, 'text' | 'resume'>,
): Promise<string> {
  const { handoff } = to;
  const id = `${kind}:${randomUUID()}`;
  const event: InboundEvent = {
    id,
    kind,
    botId: to.botId,
    channel: to.channel,
    identity: to.identity,
    from: handoff.from,
    to: handoff.to,
    ...(handoff.provider ? { provider: handoff.provider } : {}),
    receivedAt: deps.now(),
    windowStart: handoff.lastInbound,
    ...extra,
  };
  await deps.conversations.accept(to.cid, event);
  await deps.kick(to.cid);
  return id;
}

/**
 * The simulator's way to play the agent (it has no API key): the same queueing, for the conversation of a bot
 * and a channel identity. `not_handed_off` when no person has it.
 */
export async function sandboxAgent(
  deps: HandoffQueue,
  botId: string,
  identity: string,
  action: { kind: 'agent'; text: string } | { kind: 'resume' },
): Promise<'queued' | 'not_handed_off'> {
  const cid = deps.conversations.keys.conversationId(botId, identity);
  const handoff = handoffOf(await deps.conversations.state(cid), deps.now());
  if (!handoff) return 'not_handed_off';
  const channel = identity.slice(0, identity.indexOf(':')) as Channel;
  await queueForHandoff(deps, { cid, botId, channel, identity, handoff }, action.kind, {
    text: action.kind === 'agent' ? action.text : '',
  });
  return 'queued';
}

/** `channels` gives each channel's window for free text (WhatsApp's 24 hours); without it, none is checked. */
export function mountHandoff(
  router: Router,
  live: LiveStateDeps,
  kit: RouteKit,
  channels?: ChannelRegistry,
): void {
  const { parse, callerOf, audited, now } = kit;
  const deps: HandoffQueue = { conversations: live.conversations, kick: live.kick, now };

  /** The caller's workspace's conversation, handed off now; 404 for another's, 409 when not handed off. */
  const handedOff = async (req: Request, res: Response) => {
    const cid = kit.param(req, 'conversationId');
    const workspace = callerOf(res).workspace;
    const found =
      cid.length <= MAX_ID ? await live.conversations.liveConversation(workspace, cid) : undefined;
    if (!found) throw new ApiError(404, 'conversation_not_found', 'No such conversation in this workspace.');
    const handoff = handoffOf(found.state, now());
    if (!handoff) {
      throw new ApiError(
        409,
        'not_handed_off',
        'The conversation is not handed off to a person (no handoff step is holding it, or its idle timeout passed): the bot answers it.',
      );
    }
    const { botId, channel, identity } = found.conversation;
    return { cid, botId, channel, identity, handoff };
  };

  router.post('/v1/conversations/:conversationId/messages', async (req, res) => {
    const body = parse(AgentMessageBodySchema, req.body, 'body');
    const handed = await handedOff(req, res);
    const freeTextAllowed = channels?.get(handed.channel)?.freeTextAllowed;
    if (freeTextAllowed && !freeTextAllowed(handed.handoff.lastInbound, now())) {
      // Free text only reaches a WhatsApp user within 24 hours of their last message; the bot's template is not the agent's.
      throw new ApiError(
        409,
        'outside_window',
        `The user last wrote on ${handed.channel} too long ago for free text (WhatsApp: 24 hours): it cannot reach them until they write again.`,
      );
    }
    const id = await queueForHandoff(deps, handed, 'agent', { text: body.text });
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
    const id = await queueForHandoff(deps, handed, 'resume', {
      text: '',
      ...(body.flow !== undefined ? { resume: { flow: body.flow } } : {}),
    });
    await audited(res, 'conversation.resume', { conversation: handed.cid, bot: handed.botId });
    res.status(202).json({ conversation: handed.cid, id, queued: 'inbox' });
  });
}
