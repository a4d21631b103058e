// Owns text written for terminals: stripping the control sequences (colours,
// screen clears) that firmware, kernels and progress bars write.

/** Text without the terminal's control sequences. */
export function withoutTerminalCodes(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}
