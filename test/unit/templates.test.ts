// Templates: rendering per escaping mode, and values that try to escape where they land.
import { describe, expect, it } from 'vitest';
import { TemplateError, Templates } from '../../src/core/templates.js';

const templates = new Templates();

const user = { id: 'u1', name: 'Zhang San', email: 'z@example.com', tier: 'verified', externalId: 'team-7' };

const hostile = {
  json: '"}, "admin": true, "x": "',
  traversal: '../../admin?x=',
  encodedCrlf: '%0d%0aX-Evil: 1',
  crlf: 'a\r\nX-Evil: 1',
  template: '{{ authtoken }}',
  big: 'x'.repeat(10 * 1024),
};

describe('Templates.text', () => {
  it('renders variables, nested user fields and filters', () => {
    const ctx = { balance: 12.5, currency: 'EUR', user, input: 'hi there' };
    expect(templates.text('Your balance is {{balance}} {{ currency }}.', ctx)).toBe(
      'Your balance is 12.5 EUR.',
    );
    expect(templates.text('Hello {{ user.name }} ({{ user.tier }})', ctx)).toBe('Hello Zhang San (verified)');
    expect(templates.text('{{ input | upcase }} / {{ user.name | split: " " | first }}', ctx)).toBe(
      'HI THERE / Zhang',
    );
    expect(templates.text('{% if balance > 10 %}rich{% else %}poor{% endif %}', ctx)).toBe('rich');
  });

  it('renders a missing variable as nothing and does not escape text', () => {
    expect(templates.text('[{{ nothing }}]', {})).toBe('[]');
    expect(templates.text('{{ a }}', { a: '<b>&"\'' })).toBe('<b>&"\'');
  });

  it('never evaluates a value as a template', () => {
    expect(templates.text('{{ v }}', { v: hostile.template, authtoken: 'secret-token' })).toBe(
      '{{ authtoken }}',
    );
  });

  it('does not reach inherited properties', () => {
    expect(templates.text('[{{ user.constructor }}][{{ v.length }}]', { user, v: {} })).toBe('[][]');
  });

  it('cannot read files through include or render', () => {
    expect(() => templates.text('{% include "package.json" %}', {})).toThrow(TemplateError);
    expect(() => templates.text('{% render "package.json" %}', {})).toThrow(TemplateError);
  });

  it('renders a 10 KB value in full', () => {
    expect(templates.text('<{{ big }}>', { big: hostile.big })).toBe(`<${hostile.big}>`);
  });

  it('gives the same answer from the cache, also past its size', () => {
    const small = new Templates({ cacheSize: 2 });
    for (let i = 0; i < 5; i += 1) {
      for (const source of ['a{{x}}', 'b{{x}}', 'c{{x}}']) {
        expect(small.text(source, { x: i })).toBe(`${source[0]}${i}`);
      }
    }
  });
});

describe('Templates.url', () => {
  const source = 'https://api.example/v1/users/{{id}}/balance';

  it('URL-encodes every output', () => {
    expect(templates.url(source, { id: 'u 1' })).toBe('https://api.example/v1/users/u%201/balance');
    expect(templates.url('https://api.example/search?q={{ q }}&n={{ n }}', { q: 'a&b=c#d', n: 3 })).toBe(
      'https://api.example/search?q=a%26b%3Dc%23d&n=3',
    );
    expect(templates.url('https://api.example/u/{{ user.id }}', { user })).toBe('https://api.example/u/u1');
  });

  it('keeps a traversal attempt inside one path segment', () => {
    expect(templates.url(source, { id: hostile.traversal })).toBe(
      'https://api.example/v1/users/..%2F..%2Fadmin%3Fx%3D/balance',
    );
  });

  it('cannot be changed by any hostile value', () => {
    for (const id of Object.values(hostile)) {
      const rendered = templates.url(source, { id, authtoken: 'secret-token' });
      const parsed = new URL(rendered);
      expect(parsed.origin).toBe('https://api.example');
      expect(parsed.pathname.split('/')).toHaveLength(5);
      expect(parsed.pathname.startsWith('/v1/users/')).toBe(true);
      expect(parsed.pathname.endsWith('/balance')).toBe(true);
      expect(parsed.search).toBe('');
      expect(parsed.hash).toBe('');
      expect(rendered).not.toContain('secret-token');
      expect(rendered).not.toMatch(/[\r\n]/);
    }
    expect(templates.url(source, { id: hostile.encodedCrlf })).toBe(
      'https://api.example/v1/users/%250d%250aX-Evil%3A%201/balance',
    );
    expect(templates.url(source, { id: hostile.template })).toBe(
      'https://api.example/v1/users/%7B%7B%20authtoken%20%7D%7D/balance',
    );
  });

  it('does not let | raw switch the encoding off', () => {
    expect(templates.url('https://api.example/u/{{ id | raw }}', { id: 'a/b?c' })).toBe(
      'https://api.example/u/a%2Fb%3Fc',
    );
  });

  it('refuses a value that would become a dot segment', () => {
    expect(() => templates.url(source, { id: '..' })).toThrow(TemplateError);
    expect(() => templates.url('https://api.example/v1/{{a}}{{b}}/x', { a: '.', b: '.' })).toThrow(
      TemplateError,
    );
    expect(templates.url('https://api.example/v1/{{a}}', { a: '...' })).toBe('https://api.example/v1/...');
  });

  it('refuses a template in the scheme or host', () => {
    expect(() => templates.url('https://{{host}}/x', { host: 'evil.example' })).toThrow(TemplateError);
    expect(() => templates.url('https://{{host}}/x', { host: 'api.example' })).toThrow(TemplateError);
    expect(() => templates.url('https://api.example{{port}}/x', { port: '.evil.example' })).toThrow(
      TemplateError,
    );
    expect(() => templates.url('{{base}}/x', { base: 'https://api.example' })).toThrow(TemplateError);
    expect(() => templates.url('https://api.example:{{p}}/x', { p: 8443 })).toThrow(TemplateError);
  });

  it('keeps a literal port and user info', () => {
    expect(templates.url('http://127.0.0.1:8080/a/{{x}}?y={{y}}', { x: 'b', y: 'c d' })).toBe(
      'http://127.0.0.1:8080/a/b?y=c%20d',
    );
  });

  it('survives a lone surrogate', () => {
    expect(templates.url('https://api.example/{{x}}', { x: 'a\uD800b' })).toBe(
      'https://api.example/a%EF%BF%BDb',
    );
  });
});

describe('Templates.header', () => {
  it('renders headers', () => {
    expect(templates.header('Bearer {{authtoken}}', { authtoken: 'tok-123' })).toBe('Bearer tok-123');
  });

  it('strips CR, LF and other control characters from values', () => {
    for (const value of Object.values(hostile)) {
      const rendered = templates.header('Bearer {{ v }}', { v: value, authtoken: 'secret-token' });
      // eslint-disable-next-line no-control-regex -- asserting no control character got through
      expect(rendered).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(rendered).not.toContain('secret-token');
    }
    expect(templates.header('Bearer {{ v }}', { v: hostile.crlf })).toBe('Bearer aX-Evil: 1');
    expect(templates.header('Bearer {{ v | raw }}', { v: 'a\r\nb\u0000\u2028c' })).toBe('Bearer abc');
    expect(templates.header('X {{ v }}', { v: hostile.encodedCrlf })).toBe('X %0d%0aX-Evil: 1');
    expect(templates.header('{{ v }}', { v: hostile.template })).toBe('{{ authtoken }}');
  });

  it('strips line breaks written in the template itself', () => {
    expect(templates.header('Bearer {{t}}\n', { t: 'x' })).toBe('Bearer x');
  });
});

describe('Templates.body', () => {
  it('keeps a single output typed and renders other strings as text', () => {
    const body = {
      amount: '{{ amount }}',
      ok: '{{ ok }}',
      profile: '{{ profile }}',
      label: 'Pay {{ amount }}',
      spaced: ' {{ amount }}',
      count: '{{ items | size }}',
      missing: '{{ missing }}',
      literal: 7,
      flag: false,
      none: null,
      list: ['{{ amount }}', 'id-{{ user.id }}', { nested: '{{ user.name }}' }],
    };
    const ctx = { amount: 12.5, ok: true, profile: { a: [1, 'b'] }, items: [1, 2, 3], user };
    expect(templates.body(body, ctx)).toEqual({
      amount: 12.5,
      ok: true,
      profile: { a: [1, 'b'] },
      label: 'Pay 12.5',
      spaced: ' 12.5',
      count: 3,
      missing: null,
      literal: 7,
      flag: false,
      none: null,
      list: [12.5, 'id-u1', { nested: 'Zhang San' }],
    });
  });

  it('renders the default body of a login component', () => {
    const body = { user: '{{username}}', pass: '{{password}}' };
    expect(JSON.stringify(templates.body(body, { username: 'ann', password: 'p"w' }))).toBe(
      '{"user":"ann","pass":"p\\"w"}',
    );
  });

  it('cannot change the JSON structure with any hostile value', () => {
    const body = { member: '{{ v }}', note: 'id: {{ v }}', list: ['{{ v }}'] };
    for (const v of Object.values(hostile)) {
      const rendered = templates.body(body, { v, authtoken: 'secret-token' });
      const reparsed = JSON.parse(JSON.stringify(rendered)) as Record<string, unknown>;
      expect(Object.keys(reparsed)).toEqual(['member', 'note', 'list']);
      expect(reparsed).toEqual({ member: v, note: `id: ${v}`, list: [v] });
    }
    expect(JSON.stringify(templates.body({ member: '{{ v }}' }, { v: hostile.json }))).toBe(
      '{"member":"\\"}, \\"admin\\": true, \\"x\\": \\""}',
    );
  });

  it('keeps keys literal, including __proto__', () => {
    const body = JSON.parse('{"__proto__": "{{ v }}", "{{ k }}": 1}') as unknown;
    const rendered = templates.body(body, { v: 'x', k: 'admin' }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(rendered)).toBe(Object.prototype);
    expect(JSON.stringify(rendered)).toBe('{"__proto__":"x","{{ k }}":1}');
  });
});

describe('Templates.check', () => {
  it('returns undefined for a good template', () => {
    expect(templates.check('Hello {{ user.name | upcase }}{% if x %}!{% endif %}')).toBeUndefined();
  });

  it('reports parse errors and unknown filters', () => {
    expect(templates.check('{% if x %}unclosed')).toMatch(/not closed/);
    expect(templates.check('{{ x | no_such_filter }}')).toMatch(/no_such_filter/);
    expect(templates.check('{{ x ')).toMatch(/not closed/);
  });

  it('throws TemplateError when rendering a broken template', () => {
    expect(() => templates.text('{% if x %}', {})).toThrow(TemplateError);
  });
});
