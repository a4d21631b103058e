// Owns the wire under QMP and the guest agent: newline-delimited JSON over a
// unix socket, with every wait bounded by a timeout.
import { connect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export class JsonSocket {
  private buffer = '';
  private readonly decoder = new StringDecoder('utf8');
  private messages: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(path: string, timeoutMs: number): Promise<JsonSocket> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${path} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(new JsonSocket(s));
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  send(message: unknown): void {
    this.socket.write(JSON.stringify(message) + '\n');
  }

  /** Drops everything received so far (stale replies after a resync). */
  discard(): void {
    this.messages = [];
  }

  /** Waits for the first message that `match` accepts, removing it from the queue. */
  async next(match: (m: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex(match);
      if (i >= 0) return this.messages.splice(i, 1)[0];
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    // The guest agent prefixes a sync reply with the byte 0xFF so stale bytes
    // can be told apart. It is neither JSON nor UTF-8: drop it before decoding.
    this.buffer += this.decoder.write(chunk.filter((b) => b !== 0xff));
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      try {
        this.messages.push(JSON.parse(line));
      } catch {
        // A partial line left from before a resync: ignore it.
      }
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
