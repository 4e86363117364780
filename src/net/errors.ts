// Errors of outbound calls to operator hosts, one class per decision the caller must make.
// Messages name the host and the reason only: URLs, query strings, headers and bodies may carry secrets.

import { RemoteApiError } from '../core/errors.js';

/** Base of every outbound failure; `retryable` says whether trying the same call again can help. */
export abstract class OutboundError extends RemoteApiError {}

/**
 * The call was not made or not followed, because configuration forbids it: a host outside allowHosts,
 * a private address, a redirect to another host, an invalid URL or header. Never retried.
 */
export class OutboundRefusedError extends OutboundError {
  override readonly name = 'OutboundRefusedError';
  readonly retryable = false;
  override readonly refused = true;
  constructor(host: string, reason: string) {
    super(host, reason, `outbound call to ${host || 'an unknown host'} refused: ${reason}`);
  }
}

/** No complete answer within the call's timeout (connect, request and response body together). */
export class OutboundTimeoutError extends OutboundError {
  override readonly name = 'OutboundTimeoutError';
  readonly retryable = true;
  constructor(host: string, timeoutMs: number) {
    super(host, 'timeout', `outbound call to ${host} timed out after ${timeoutMs} ms`);
  }
}

/** The remote could not be reached or dropped the connection (DNS, refused, reset, TLS). */
export class OutboundNetworkError extends OutboundError {
  override readonly name = 'OutboundNetworkError';
  readonly retryable = true;
  /** The system error code, like ECONNREFUSED or ENOTFOUND, when there is one. */
  readonly code: string | undefined;
  constructor(host: string, code: string | undefined, options?: { cause?: unknown }) {
    super(
      host,
      code ?? 'network error',
      `outbound call to ${host} failed: ${code ?? 'network error'}`,
      options,
    );
    this.code = code;
  }
}

/** The remote answered with more than the allowed number of bytes; the answer was cut off and dropped. */
export class OutboundResponseTooLargeError extends OutboundError {
  override readonly name = 'OutboundResponseTooLargeError';
  readonly retryable = false;
  constructor(host: string, maxBytes: number) {
    super(host, 'response too large', `outbound call to ${host}: response larger than ${maxBytes} bytes`);
  }
}
