// Owns quoting for POSIX sh: the one way a value is put into a command line,
// whether it runs in a guest or is shown for a user to paste.

/** Single-quotes a string for sh: safe for any content. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quotes a word only when it needs it, so commands shown to a user stay readable. */
export function shWord(w: string): string {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(w) ? w : shQuote(w);
}
