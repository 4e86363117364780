// What a configuration reload takes away from conversations in flight: the flows that are gone.
import type { Config } from './schema.js';

/** Per bot kept by a reload, the flows the old configuration had and the new one does not. */
export interface RemovedFlows {
  botId: string;
  workspace: string;
  flows: string[];
}

/**
 * The flows a reload removes (or renames) from bots it keeps. A conversation in one of them starts again at
 * `main` on its next message (the engine sees its flow is gone); a removed bot's numbers no longer reach it.
 */
export function removedFlows(before: Config, after: Config): RemovedFlows[] {
  const removed: RemovedFlows[] = [];
  for (const [botId, old] of Object.entries(before.bots)) {
    const now = Object.hasOwn(after.bots, botId) ? after.bots[botId] : undefined;
    if (!now) continue;
    const flows = Object.keys(old.flows).filter((flow) => !Object.hasOwn(now.flows, flow));
    if (flows.length > 0) removed.push({ botId, workspace: old.workspace, flows });
  }
  return removed;
}
