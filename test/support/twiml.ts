// Reads what tests need out of TwiML answers: an element's attribute (unescaped), such as a Gather's action.

function unescapeXml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The value of `attribute` on the first `<tag …>` in `xml`, or undefined. */
export function twimlAttribute(xml: string, tag: string, attribute: string): string | undefined {
  const element = new RegExp(`<${tag}\\b([^>]*)>`).exec(xml)?.[1];
  if (element === undefined) return undefined;
  const value = new RegExp(`\\s${attribute}="([^"]*)"`).exec(element)?.[1];
  return value === undefined ? undefined : unescapeXml(value);
}

/** The text content of the first `<tag>…</tag>`, or undefined (for `<Redirect>`: the URL). */
export function twimlText(xml: string, tag: string): string | undefined {
  const text = new RegExp(`<${tag}\\b[^>]*>([^<]*)</${tag}>`).exec(xml)?.[1];
  return text === undefined ? undefined : unescapeXml(text);
}
