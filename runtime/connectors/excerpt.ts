/**
 * How much of what a remote system answered may appear in an error. Run errors and `describe` answers are read by
 * people and scripts that did not choose the system, so a body is quoted short, as plain text on one line: markup,
 * control characters and text-direction tricks removed, at most {@link maxExcerptLength} characters.
 */

export const maxExcerptLength = 200;

const markup = /<\s*[a-z!?/]/i;
const hiddenBlocks = /<(script|style)\b[\s\S]*?<\/\1\s*>|<!--[\s\S]*?-->/gi;
const tags = /<[^>]*>?/g;
/** Control, format (bidi overrides, zero-width), private-use and lone-surrogate characters, and line separators. */
const unprintable = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** A short, one-line, quoted excerpt of a response body, or '' when nothing printable is left. */
export function responseExcerpt(text: string, maxLength = maxExcerptLength): string {
  const plain = plainExcerpt(text, maxLength);
  return plain === '' ? '' : JSON.stringify(plain);
}

/** The same excerpt unquoted: for text the server chose that is not a body (a reason phrase, a content type, a key). */
export function plainExcerpt(text: string, maxLength = maxExcerptLength): string {
  // Only the start can be shown, so only the start (with room for markup that is dropped) is looked at.
  let plain = text.slice(0, maxLength * 20);
  if (markup.test(plain)) plain = plain.replace(hiddenBlocks, ' ').replace(tags, ' ');
  plain = plain.replace(unprintable, ' ').replace(/[<>]/g, ' ').replace(/\s+/g, ' ').trim();
  const characters = [...plain];
  return characters.length > maxLength ? `${characters.slice(0, maxLength - 1).join('')}…` : plain;
}
