// The ports a dialog turn uses, faked for the engine's unit tests (no Redis, no HTTP).
import type {
  DialogServices,
  OperatorEventType,
  RemoteApiRequest,
  RemoteApiResponse,
} from '../../../../src/core/ports.js';

export type Answer = RemoteApiResponse | Error;

export function json(status: number, value: unknown): RemoteApiResponse {
  return { status, headers: {}, text: JSON.stringify(value), json: value };
}

/** Scripted HTTP answers, recorded calls, events and profile saves. */
export class FakeServices {
  readonly calls: RemoteApiRequest[] = [];
  readonly events: { type: OperatorEventType; data?: Record<string, unknown> }[] = [];
  readonly profiles: { name?: string; email?: string }[] = [];
  readonly reports: string[] = [];
  readonly answers: Answer[] = [];

  readonly ports: DialogServices = {
    http: async (request) => {
      this.calls.push(request);
      const answer = this.answers.shift() ?? json(200, {});
      if (answer instanceof Error) throw answer;
      return answer;
    },
    user: async () => ({ id: 'anon:sms:+12025550100', tier: 'anonymous' }),
    markVerified: async () => ({ id: 'u1', tier: 'verified' }),
    saveProfile: async (profile) => void this.profiles.push(profile),
    redeemLinkCode: async () => ({ ok: false, reason: 'invalid' }),
    logout: async () => 0,
    whoAmI: async () => "I don't know you yet.",
    token: async () => undefined,
    storeToken: async () => undefined,
    revokeToken: async () => undefined,
    lockedFor: async () => 0,
    recordFailure: async () => 0,
    clearFailures: async () => undefined,
    authenticate: async () => ({ result: 'unavailable', reason: 'not in these tests' }),
    emit: (type, data) => void this.events.push({ type, ...(data ? { data } : {}) }),
    report: (problem) => void this.reports.push(problem),
  };
}
