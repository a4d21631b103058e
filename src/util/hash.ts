// Owns content hashing for cache keys: sha256 of strings, files and trees.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(typeof p === 'string' ? Buffer.from(p) : p);
    h.update('\0');
  }
  return h.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Short form used in directory names and messages. */
export function short(hash: string): string {
  return hash.slice(0, 16);
}
