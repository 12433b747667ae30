/**
 * A small DNS client for tests: real UDP and TCP sockets, dns-packet to build and read messages.
 * Separate from the server's own wire code, so tests check it independently.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export interface AskOptions {
  readonly transport?: 'udp' | 'tcp';
  readonly host?: string;
  /** Send an OPT record with this UDP payload size. */
  readonly edns?: number;
  /** ECS to send, e.g. { family: 1, sourcePrefix: 24, address: '192.0.2.0' }. */
  readonly ecs?: { family: 1 | 2; sourcePrefix: number; address: string };
  readonly rd?: boolean;
  readonly id?: number;
  readonly timeoutMs?: number;
}

export function buildQuery(name: string, type: string, opts: AskOptions = {}): Buffer {
  const additionals: dnsPacket.Answer[] = [];
  if (opts.edns !== undefined || opts.ecs) {
    const options: unknown[] = [];
    if (opts.ecs)
      options.push({ code: 'CLIENT_SUBNET', family: opts.ecs.family, sourcePrefixLength: opts.ecs.sourcePrefix, scopePrefixLength: 0, ip: opts.ecs.address });
    additionals.push({ type: 'OPT', name: '.', udpPayloadSize: opts.edns ?? 1232, options } as unknown as dnsPacket.Answer);
  }
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? Math.floor(Math.random() * 65535),
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as dnsPacket.RecordType, name }],
    additionals,
  });
}

/** Sends raw bytes over UDP and resolves with the first reply (or null after the timeout). */
export function sendUdp(port: number, msg: Buffer, host = '127.0.0.1', timeoutMs = 2000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(null);
    }, timeoutMs);
    sock.once('message', (reply) => {
      clearTimeout(timer);
      sock.close();
      resolve(reply);
    });
    sock.send(msg, port, host);
  });
}

/** Sends one or more framed messages over one TCP connection; resolves with `expect` replies. */
export function sendTcp(port: number, msgs: Buffer[], expect = msgs.length, host = '127.0.0.1', timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const sock = net.connect({ port, host });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`tcp: got ${replies.length} of ${expect} replies before the timeout`));
    }, timeoutMs);
    sock.on('connect', () => {
      for (const m of msgs) {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(m.length);
        sock.write(Buffer.concat([len, m]));
      }
    });
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (replies.length >= expect) {
        clearTimeout(timer);
        sock.destroy();
        resolve(replies);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A decoded record, loosely typed: tests compare its fields. */
export interface RR {
  name: string;
  type: string;
  ttl: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
  [k: string]: unknown;
}

/** A decoded reply, with the raw bytes it came from. */
export interface Reply {
  raw: Buffer;
  id: number;
  rcode: string;
  flags: number;
  questions?: Array<{ name: string; type: string }>;
  answers?: RR[];
  authorities?: RR[];
  additionals?: RR[];
  [k: string]: unknown;
}

/** Decodes a reply. */
export function decode(raw: Buffer): Reply {
  return Object.assign(dnsPacket.decode(raw) as unknown as Reply, { raw });
}

/** Asks one question and decodes the reply. */
export async function ask(port: number, name: string, type: string, opts: AskOptions = {}): Promise<Reply> {
  const msg = buildQuery(name, type, opts);
  const raw = opts.transport === 'tcp' ? (await sendTcp(port, [msg], 1, opts.host))[0]! : await sendUdp(port, msg, opts.host, opts.timeoutMs);
  if (!raw) throw new Error(`no reply for ${name} ${type}`);
  return decode(raw);
}

/** `flag_aa`, `flag_tc` … from a decoded packet. */
export function flag(reply: Reply, name: 'aa' | 'tc' | 'rd' | 'ra' | 'cd'): boolean {
  return Boolean((reply as unknown as Record<string, boolean>)[`flag_${name}`]);
}
