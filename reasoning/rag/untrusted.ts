/**
 * Untrusted text, quoted for the model (spotlighting): the marks cannot be forged from inside, since any « or » in
 * the text is replaced, and control characters (which can hide text from a reader of the prompt) are removed. The
 * prompt's system message tells the model that text between « and » is data, never instructions.
 */
// eslint-disable-next-line no-control-regex
export const quoteUntrusted = (s: string): string => `«${s.replace(/[«»]/g, '"').replace(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, ' ')}»`;
