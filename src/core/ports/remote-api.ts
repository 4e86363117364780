// The port to operator APIs: a request the engine builds, the answer it reads.

export interface RemoteApiRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON (content-type application/json unless given) when not a string; a string is sent as is. */
  body?: unknown;
  /** Merged into the URL's query; a name already in the URL is replaced. */
  query?: Record<string, string>;
  /** Covers the whole exchange, redirects included. */
  timeoutMs: number;
}

export interface RemoteApiResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

/** How one run of a request step ended (after its retries): what the operator's log and metrics show. */
export interface RequestOutcome {
  flow: string;
  /** The step's place in its flow, from 0. */
  step: number;
  /** The API's host and port ('' when the URL could not be built). */
  host: string;
  /** The last answer's status, when the API answered. */
  status?: number;
  /**
   * `ok` (2xx), `status` (another answer), or why there was none: `timeout`, a network error's code
   * (ECONNREFUSED, …), `refused` (the configuration forbids the call), `response too large`.
   */
  reason: string;
}

/**
 * Calls to the workspace's operator APIs. Implemented by `src/turn/turn-services.ts` over
 * `src/net/outbound.ts` (only the workspace's allowed hosts); failures are `RemoteApiError`s.
 */
export interface RemoteApiPort {
  http(request: RemoteApiRequest): Promise<RemoteApiResponse>;
  /** Told how each run of a request step ended, success or not (logged and counted, never shown to the user). */
  requestOutcome(outcome: RequestOutcome): void;
}
