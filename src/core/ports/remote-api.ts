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

/**
 * Calls to the workspace's operator APIs. Implemented by `src/turn/turn-services.ts` over
 * `src/net/outbound.ts` (only the workspace's allowed hosts); failures are `RemoteApiError`s.
 */
export interface RemoteApiPort {
  http(request: RemoteApiRequest): Promise<RemoteApiResponse>;
}
