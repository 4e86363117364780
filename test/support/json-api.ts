// One operator API call over real HTTP: a Bearer key, a JSON (or raw) body in, the status and JSON out.

export interface JsonAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON; undefined for an empty or non-JSON body. */
  json: unknown;
  text: string;
}

export interface JsonRequestOptions {
  /** The Bearer key; null for no Authorization header. */
  key: string | null;
  /** An object is sent as JSON; a string or Buffer as is (with a JSON content type unless headers say). */
  body?: unknown;
  headers?: Record<string, string>;
}

export async function jsonRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: JsonRequestOptions,
): Promise<JsonAnswer> {
  const headers: Record<string, string> = {};
  if (options.key !== null) headers.authorization = `Bearer ${options.key}`;
  let body: string | Buffer | undefined;
  if (options.body !== undefined) {
    body =
      typeof options.body === 'string' || Buffer.isBuffer(options.body)
        ? options.body
        : JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  Object.assign(headers, options.headers);
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}
