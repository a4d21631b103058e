// Owns text written for terminals: stripping the control sequences (colours,
// screen clears, resets, window titles) that firmware, kernels, guest commands
// and progress bars write, so that what leaklab shows of them cannot move the
// cursor, recolour or reset the user's terminal.

/** Text without the terminal's control sequences and control characters (tabs and line ends stay; CR LF becomes LF). */
export function withoutTerminalCodes(text: string): string {
  return (
    text
      // CSI: colours, cursor moves, screen clears (ESC [ ... final byte).
      .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
      // OSC: window titles, links (ESC ] ... BEL or ESC \\).
      .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)?/g, '')
      // Every other escape: ESC c (SeaBIOS resets the terminal), character set selection.
      .replace(/\x1b[ -/]*[0-~]/g, '')
      .replace(/\r\n/g, '\n')
      // What is left of C0 and C1 controls (a lone CR would let a line overwrite the one before).
      .replace(/[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g, '')
  );
}
