// Owns QMP, QEMU's control protocol: the capabilities handshake and the
// commands leaklab sends (only `quit` for now, the graceful stop).
import { JsonSocket } from './json-socket.ts';

export class Qmp {
  private constructor(private readonly sock: JsonSocket) {}

  static async connect(path: string, timeoutMs: number): Promise<Qmp> {
    const sock = await JsonSocket.open(path, timeoutMs);
    await sock.next((m) => 'QMP' in m, timeoutMs);
    sock.send({ execute: 'qmp_capabilities' });
    await sock.next((m) => 'return' in m, timeoutMs);
    return new Qmp(sock);
  }

  async command(execute: string, timeoutMs: number, args?: Record<string, unknown>): Promise<unknown> {
    this.sock.send(args ? { execute, arguments: args } : { execute });
    const reply = await this.sock.next((m) => 'return' in m || 'error' in m, timeoutMs);
    if ('error' in reply) throw new Error(`${execute}: ${JSON.stringify(reply.error)}`);
    return reply.return;
  }

  close(): void {
    this.sock.close();
  }
}
