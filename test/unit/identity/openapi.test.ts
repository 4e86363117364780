// The operator API's OpenAPI 3.1 document and API key matching.
import { describe, expect, it } from 'vitest';
import { workspaceOfKey } from '../../../src/http/operator-api.js';
import { operatorOpenApiDocument } from '../../../src/http/openapi.js';
import { KEY_A, KEY_A2, KEY_B, testConfig } from '../../integration/identity/setup.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- walking a JSON document */
describe('OpenAPI document', () => {
  const doc = operatorOpenApiDocument() as any;

  it('is OpenAPI 3.1 JSON with every path of the API', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/v1/audit',
      '/v1/calls',
      '/v1/conversations',
      '/v1/conversations/{conversationId}/messages',
      '/v1/conversations/{conversationId}/resume',
      '/v1/dead-letters',
      '/v1/dead-letters/{deadLetterId}/replay',
      '/v1/link-codes',
      '/v1/messages',
      '/v1/messages/{messageId}',
      '/v1/openapi.json',
      '/v1/users',
      '/v1/users/{userId}',
      '/v1/users/{userId}/history',
      '/v1/users/{userId}/lockouts',
      '/v1/users/{userId}/opt-outs',
      '/v1/users/{userId}/tokens',
      '/v1/users/{userId}/tokens/{component}',
    ]);
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual([
      'DELETE /v1/users/{userId}',
      'DELETE /v1/users/{userId}/lockouts',
      'DELETE /v1/users/{userId}/opt-outs',
      'DELETE /v1/users/{userId}/tokens',
      'DELETE /v1/users/{userId}/tokens/{component}',
      'GET /v1/audit',
      'GET /v1/conversations',
      'GET /v1/dead-letters',
      'GET /v1/messages/{messageId}',
      'GET /v1/openapi.json',
      'GET /v1/users/{userId}',
      'GET /v1/users/{userId}/history',
      'GET /v1/users/{userId}/lockouts',
      'GET /v1/users/{userId}/opt-outs',
      'POST /v1/calls',
      'POST /v1/conversations',
      'POST /v1/conversations/{conversationId}/messages',
      'POST /v1/conversations/{conversationId}/resume',
      'POST /v1/dead-letters/{deadLetterId}/replay',
      'POST /v1/link-codes',
      'POST /v1/messages',
      'POST /v1/users',
      'PUT /v1/users/{userId}/tokens/{component}',
    ]);
    expect(doc.components.securitySchemes.apiKey).toEqual({
      type: 'http',
      scheme: 'bearer',
      description: 'A workspace API key.',
    });
  });

  it('has request schemas generated from the zod schemas, closed to unknown fields', () => {
    const register = doc.components.schemas.RegisterUser;
    expect(register.type).toBe('object');
    expect(register.additionalProperties).toBe(false);
    expect(register.required).toEqual(['userId', 'identities']);
    expect(register.properties.identities.items.properties.channel.enum).toEqual([
      'sms',
      'whatsapp',
      'voice',
    ]);
    expect(doc.components.schemas.RenewToken.required).toEqual(['token', 'ttl']);
    expect(doc.components.schemas.CreateLinkCode.properties.ttl.maximum).toBe(86_400);
    expect(doc.paths['/v1/users'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/RegisterUser',
    });
    expect(
      doc.paths['/v1/users/{userId}/tokens/{component}'].put.requestBody.content['application/json'].schema,
    ).toEqual({
      $ref: '#/components/schemas/RenewToken',
    });
    const history = doc.paths['/v1/users/{userId}/history'].get.parameters.map(
      (p: any) => `${p.in}:${p.name}`,
    );
    expect(history).toEqual([
      'path:userId',
      'query:externalId',
      'query:limit',
      'query:before',
      'query:after',
      'query:cursor',
    ]);
    // Every $ref points at a schema that exists.
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
    for (const ref of refs) expect(doc.components.schemas[ref.split('/').pop()!]).toBeDefined();
  });
});
/* eslint-enable @typescript-eslint/no-explicit-any */

describe('workspaceOfKey', () => {
  it('finds the workspace of each key and nothing for near misses', () => {
    const config = testConfig();
    expect([KEY_A, KEY_A2, KEY_B].map((k) => workspaceOfKey(config, k))).toEqual(['acme', 'acme', 'globex']);
    expect(workspaceOfKey(config, `${KEY_A} `)).toBeUndefined();
    expect(workspaceOfKey(config, KEY_A.slice(1))).toBeUndefined();
    expect(workspaceOfKey(config, '')).toBeUndefined();
  });
});
