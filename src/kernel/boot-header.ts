// Owns recognizing an x86 kernel image by its boot header, so a file that is
// not one is refused before a guest is started (QEMU would fail on it, and
// the boot failure would only say to wait longer).
import { open } from 'node:fs/promises';

/** Where the x86 boot protocol puts its magic "HdrS" (Documentation/arch/x86/boot.rst). */
const HEADER_OFFSET = 0x202;
const MAGIC = 'HdrS';

/** Whether the file is an x86 bzImage (a kernel QEMU can boot with -kernel); false when it cannot be read. */
export async function isBzImage(path: string): Promise<boolean> {
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return false;
  try {
    const buf = Buffer.alloc(MAGIC.length);
    const { bytesRead } = await file.read(buf, 0, MAGIC.length, HEADER_OFFSET);
    return bytesRead === MAGIC.length && buf.toString('latin1') === MAGIC;
  } finally {
    await file.close();
  }
}
