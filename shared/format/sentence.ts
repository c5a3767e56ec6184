// Main's messages are often clauses ("this share belongs to another set") that the window shows as
// a sentence. A message that begins with a name (a file, a path, an identifier) keeps it as it is.

/** True for a first word that is a name rather than prose: a file, a path, a set id, a serial. */
function isName(word: string): boolean {
  return /[./\\~_:@`'"\d]/.test(word) || /.[A-Z]/.test(word);
}

/** Pure: `text` with its first letter capitalised, unless it begins with a name. */
export function asSentence(text: string): string {
  const first = /^\S*/.exec(text)?.[0] ?? '';
  if (first === '' || isName(first)) return text;
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}
