// Owns the host side of QEMU's guest agent protocol (qemu-ga in the guest,
// on a serial port): syncing the stream, and running a command to
// completion with guest-exec / guest-exec-status.
import { JsonSocket } from './json-socket.ts';
import { GUEST_PATH } from '../guest.ts';
import type { ExecResult } from '../guest.ts';
import { retryUntil } from '../../util/retry.ts';

/**
 * How often guest-exec-status is asked. Every poll crosses the emulated
 * serial port and costs the guest CPU time under TCG: polling every 5 ms made
 * a 150 ms burst take 220 ms; 40 ms is the measured sweet spot.
 */
const POLL_MS = 40;

export class GuestAgent {
  private constructor(private readonly sock: JsonSocket) {}

  /**
   * Connects, then repeats guest-sync-delimited (a fresh id each time, every
   * `retryMs`) until the agent answers: while the guest boots nobody reads
   * the serial port, so early requests are lost rather than refused.
   * `stillWaiting` is asked between attempts (false: give up at once).
   */
  static async connect(path: string, timeoutMs: number, retryMs = 250, stillWaiting: () => boolean = () => true): Promise<GuestAgent> {
    const sock = await JsonSocket.open(path, Math.min(timeoutMs, 5000));
    const agent = new GuestAgent(sock);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await agent.sync(retryMs);
        return agent;
      } catch (err) {
        if (Date.now() + retryMs > deadline || !stillWaiting() || (err as Error).message === 'connection closed') {
          sock.close();
          throw err;
        }
      }
    }
  }

  /** guest-sync-delimited with a fresh id: everything before its reply is stale. */
  async sync(timeoutMs: number): Promise<void> {
    const id = Math.floor(Math.random() * 2 ** 31);
    this.sock.send({ execute: 'guest-sync-delimited', arguments: { id } });
    await this.sock.next((m) => m.return === id, timeoutMs);
    this.sock.discard();
  }

  async request(command: string, args: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    this.sock.send({ execute: command, arguments: args });
    const reply = await this.sock.next((m) => 'return' in m || 'error' in m, timeoutMs);
    if ('error' in reply) throw new Error(`${command}: ${JSON.stringify(reply.error)}`);
    return reply.return;
  }

  /** Runs /bin/sh -c script; resolves when it exits or rejects at the deadline. */
  async exec(script: string, timeoutMs: number): Promise<ExecResult> {
    const deadline = Date.now() + timeoutMs;
    const started = (await this.request(
      'guest-exec',
      {
        path: '/bin/sh',
        arg: ['-c', script],
        env: [`PATH=${GUEST_PATH}`],
        'capture-output': true,
      },
      Math.min(timeoutMs, 30_000),
    )) as { pid: number };
    type Status = { exited: boolean; exitcode?: number; signal?: number; 'out-data'?: string; 'err-data'?: string };
    const status = await retryUntil(
      async () => {
        const s = (await this.request('guest-exec-status', { pid: started.pid }, Math.max(1000, deadline - Date.now()))) as Status;
        return s.exited ? s : undefined;
      },
      { intervalMs: POLL_MS, timeoutMs: Math.max(0, deadline - Date.now()) },
    );
    if (!status) throw new Error(`command did not finish within ${Math.round(timeoutMs / 1000)} s`);
    return {
      exitCode: status.exitcode ?? 128 + (status.signal ?? 0),
      stdout: Buffer.from(status['out-data'] ?? '', 'base64').toString('utf8'),
      stderr: Buffer.from(status['err-data'] ?? '', 'base64').toString('utf8'),
    };
  }

  close(): void {
    this.sock.close();
  }
}
