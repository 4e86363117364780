// The HTTP call of an auth method: a network failure is an outcome (the service is unavailable), not an error.
import type { AuthOutcome } from '../core/ports.js';
import { OutboundError } from '../net/errors.js';
import type { OutboundRequest, OutboundResponse } from '../net/outbound.js';
import type { HttpCall } from './method.js';

export function unavailable(reason: string): AuthOutcome {
  return { result: 'unavailable', reason };
}

export async function callService(
  http: HttpCall,
  request: Omit<OutboundRequest, 'allowHosts'>,
): Promise<OutboundResponse | AuthOutcome> {
  try {
    return await http(request);
  } catch (error) {
    if (error instanceof OutboundError) return unavailable(error.message);
    throw error;
  }
}
