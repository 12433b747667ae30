#!/usr/bin/env node
/**
 * A stress of the native UDP part (native/udp-batch.c), for native/test-sanitizers.sh, which runs
 * it under AddressSanitizer and UndefinedBehaviorSanitizer: every path of the addon with real
 * loopback traffic, including the ones a well-behaved caller never takes.
 *
 *   - full batches (64) and partial ones, on 127.0.0.1, 0.0.0.0 (IP_PKTINFO), ::1 and :: (IPV6_PKTINFO);
 *   - the largest datagram (65,507 octets) in and out;
 *   - answers described wrongly (a slot past the batch, an offset past the arena, a length of 0
 *     or past the arena): counted as send errors, never sent, never read out of bounds;
 *   - flush() in the middle of a batch, and more answers than SEND_MAX;
 *   - close() from inside the batch callback, while datagrams are still queued;
 *   - hundreds of sockets attached and closed, with garbage collections between (the finalizer);
 *   - the real DNS server (dist/dns/server.js) answering queries through the batched path.
 *
 * Loads the addon MERIDIAN_NATIVE_UDP names (default build/udp-batch.node). Prints "stress passed"
 * and exits 0, or throws.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const file = process.env.MERIDIAN_NATIVE_UDP || path.join(root, 'build', 'udp-batch.node');
const m = createRequire(import.meta.url)(file);
const gc = globalThis.gc ?? (() => {});

/** Opens and attaches a socket whose callback is `fn(handle, views, n)`; returns the handle and its port. */
function open(host, fn) {
  const s = m.openUdp(host, 0, false, 1 << 20, 1 << 20);
  let views;
  const h = m.attach(s.fd, function (n) {
    views ??= {
      recv: Buffer.from(this.recv),
      lens: new Int32Array(this.lens),
      addrs: new Uint8Array(this.addrs),
      send: Buffer.from(this.send),
      meta: new Int32Array(this.meta),
    };
    return fn(this, views, n);
  });
  return { h, port: s.port };
}

/** An echo: every datagram back to its sender. */
function echo(h, v, n) {
  let off = 0;
  let out = 0;
  for (let i = 0; i < n; i++) {
    const len = v.lens[i];
    if (out === m.SEND_MAX || off + len > m.SEND_ARENA) {
      m.flush(h, out);
      out = 0;
      off = 0;
    }
    v.recv.copy(v.send, off, i * m.SLOT, i * m.SLOT + len);
    v.meta[out * 3] = i;
    v.meta[out * 3 + 1] = off;
    v.meta[out * 3 + 2] = len;
    out++;
    off += len;
  }
  return out;
}

/** Sends `msgs` to host:port from one socket; resolves with what came back within `ms`. */
async function exchange(host, port, msgs, ms = 1500, from = host, expect = msgs.length) {
  const c = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 16 << 20 });
  await new Promise((r) => c.bind(0, from === '0.0.0.0' ? '127.0.0.1' : from === '::' ? '::1' : from, r));
  const got = [];
  await new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    c.on('message', (msg, rinfo) => {
      got.push({ msg, rinfo });
      if (got.length === expect) {
        clearTimeout(t);
        resolve();
      }
    });
    for (const msg of msgs) c.send(msg, port, host);
  });
  c.close();
  return got;
}

async function main() {
  // 1. Echo on every kind of bind, full and partial batches, and the largest datagram.
  for (const [bind, to] of [
    ['127.0.0.1', '127.0.0.1'],
    ['0.0.0.0', '127.0.0.3'],
    ['::1', '::1'],
    ['::', '::1'],
  ]) {
    const { h, port } = open(bind, echo);
    const msgs = Array.from({ length: 300 }, (_, i) => Buffer.from(`datagram ${i} `.repeat(1 + (i % 40))));
    msgs.push(Buffer.alloc(to.includes(':') ? 65_527 - 8 : 65_507, 0xab));
    const got = await exchange(to, port, msgs, 3000);
    assert.equal(got.length, msgs.length, `${bind}: every datagram echoed`);
    assert.ok(
      got.every((g) => g.rinfo.address === to),
      `${bind}: replies from ${to}`,
    );
    assert.ok(got.some((g) => g.msg.length >= 65_000));
    m.close(h);
  }

  // 2. Answers described wrongly are refused one by one, and the good ones still go.
  {
    const { h, port } = open('127.0.0.1', (_h, v, n) => {
      const bad = [
        [n, 0, 10], // slot past the batch
        [-1, 0, 10],
        [0, m.SEND_ARENA - 5, 10], // past the arena
        [0, 0, 0], // empty
        [0, 0, m.SEND_ARENA + 1],
        [0, -4, 8],
      ];
      bad.forEach(([slot, off, len], j) => {
        v.meta[j * 3] = slot;
        v.meta[j * 3 + 1] = off;
        v.meta[j * 3 + 2] = len;
      });
      v.send.write('ok', 0);
      const k = bad.length;
      v.meta[k * 3] = 0;
      v.meta[k * 3 + 1] = 0;
      v.meta[k * 3 + 2] = 2;
      return k + 1;
    });
    const got = await exchange('127.0.0.1', port, [Buffer.from('x')]);
    assert.equal(got.length, 1);
    assert.equal(got[0].msg.toString(), 'ok');
    assert.equal(m.stats(h).sendErrors, 6);
    m.close(h);
  }

  // 3. More answers than SEND_MAX in one batch (flush in the middle), and a count past the maximum.
  {
    const { h, port } = open('127.0.0.1', (hh, v, n) => {
      let out = 0;
      for (let copy = 0; copy < 8; copy++) {
        for (let i = 0; i < n; i++) {
          if (out === m.SEND_MAX) {
            m.flush(hh, out);
            out = 0;
          }
          v.send.write(`c${copy}`, out * 4);
          v.meta[out * 3] = i;
          v.meta[out * 3 + 1] = out * 4;
          v.meta[out * 3 + 2] = 2;
          out++;
        }
      }
      return out;
    });
    const got = await exchange(
      '127.0.0.1',
      port,
      Array.from({ length: 64 }, () => Buffer.from('q')),
      1500,
      '127.0.0.1',
      64 * 8,
    );
    assert.ok(got.length >= 64 * 8 - 64, `${got.length} of ${64 * 8} copies back`); // the client may drop a few
    m.close(h);
  }

  // 4. close() from inside the callback, with more datagrams queued behind.
  {
    let calls = 0;
    const { port } = open('127.0.0.1', (hh, v, n) => {
      calls++;
      const r = echo(hh, v, n);
      m.close(hh);
      return r;
    });
    await exchange(
      '127.0.0.1',
      port,
      Array.from({ length: 500 }, () => Buffer.from('late')),
      500,
    );
    assert.equal(calls, 1, 'no callback after close');
  }

  // 5. Many sockets attached and closed, collected in between (finalizers), some never closed.
  for (let round = 0; round < 20; round++) {
    const hs = [];
    for (let i = 0; i < 20; i++) hs.push(open('127.0.0.1', echo));
    for (const [i, { h }] of hs.entries()) if (i % 5 !== 0) m.close(h);
    for (const { h } of hs) m.close(h); // idempotent
    hs.length = 0;
    gc();
    await new Promise((r) => setImmediate(r));
  }

  // 6. The DNS server itself on the batched path.
  process.env.MERIDIAN_NATIVE_UDP = file;
  const { DnsServer } = await import(path.join(root, 'dist/dns/server.js'));
  const { loadNative } = await import(path.join(root, 'dist/dns/native.js'));
  const { SnapshotHolder } = await import(path.join(root, 'dist/state/snapshot.js'));
  const { checkZoneDir } = await import(path.join(root, 'dist/state/file-source.js'));
  const { silentLogger } = await import(path.join(root, 'dist/log.js'));
  const { default: dnsPacket } = await import('dns-packet');
  const { zones } = await checkZoneDir(path.join(root, 'zones'));
  const server = new DnsServer({
    host: '127.0.0.1',
    port: 0,
    holder: new SnapshotHolder(zones),
    log: silentLogger(),
    udpIo: 'batched',
    native: loadNative().native,
    udpRecvBufferBytes: 4 << 20,
  });
  const { port } = await server.start();
  const names = ['www.example.net', 'big.example.net', 'nope.example.net', 'api.gslb.example.org', 'app.gslb.example.org', 'example.net'];
  const queries = Array.from({ length: 2000 }, (_, i) =>
    dnsPacket.encode({ type: 'query', id: i, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: names[i % names.length] }] }),
  );
  const got = await exchange('127.0.0.1', port, queries, 3000);
  const st = server.udpInfo().stats;
  // What did not come back, the kernel dropped (SO_RXQ_OVFL counts it), or the client did.
  assert.ok(got.length >= 1900, `${got.length} of 2000 answered (${st.receiveDropped} dropped by the kernel for a full receive buffer)`);
  for (const g of got) dnsPacket.decode(g.msg);
  await server.stop();
  gc();
  console.log('stress passed');
}

await main();
