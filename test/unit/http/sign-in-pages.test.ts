// The sign-in pages' HTML: every text escaped, the binding code shown in two groups of three.
import { describe, expect, it } from 'vitest';
import { escapeHtml, pages, spacedCode } from '../../../src/http/sign-in-pages.js';

describe('sign-in pages', () => {
  it('escapes what it shows', () => {
    expect(escapeHtml(`Demo <Bank> & "Co" 'x'`)).toBe('Demo &lt;Bank&gt; &amp; &quot;Co&quot; &#39;x&#39;');
    expect(pages.live('<script>').title).toBe('Sign in to <script>');
  });

  it('shows a binding code as two groups of three digits', () => {
    expect(spacedCode('012345')).toBe('012 345');
    expect(pages.binding('012345').extra).toBe('<p class="code">012 345</p>');
  });
});
