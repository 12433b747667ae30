/**
 * Health probes against real targets on loopback (docs/health.md): HTTP servers that answer,
 * fail, hang, hang up or send the wrong body; TCP listeners closed and reopened; an HTTPS server
 * with a self-signed certificate generated at test time by the openssl CLI. No mocks.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProber, type HttpProbeSpec, type Prober } from '../../src/health/probe.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const servers: net.Server[] = [];
async function listen<T extends net.Server>(server: T, host = '127.0.0.1', port = 0): Promise<{ server: T; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  servers.push(server);
  return { server, port: (server.address() as net.AddressInfo).port };
}
async function close(server: net.Server): Promise<void> {
  (server as http.Server).closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
function httpServer(handler: Handler, host?: string) {
  return listen(http.createServer(handler), host);
}

let prober: Prober;
beforeAll(() => {
  prober = createProber();
});
afterAll(async () => {
  await prober.close();
  for (const s of servers) if (s.listening) await close(s);
});

function spec(port: number, extra: Partial<HttpProbeSpec> = {}): HttpProbeSpec {
  return {
    kind: 'http',
    address: '127.0.0.1',
    port,
    path: '/health',
    method: 'GET',
    headers: {},
    expectStatus: [200, 399],
    tlsVerify: true,
    followRedirects: false,
    timeoutMs: 800,
    ...extra,
  };
}

describe('http probes', () => {
  it('weight_from: a JSON number at a key, or a header, comes back as the reported weight; a bad or missing one says why and the probe stays up', async () => {
    const { port } = await httpServer((req, res) => {
      if (req.url === '/json') return res.end(JSON.stringify({ status: 'ok', lb: { weight: 7.5 } }));
      if (req.url === '/zero') return res.end('{"weight": 0}');
      if (req.url === '/neg') return res.end('{"weight": -1}');
      if (req.url === '/text') return res.end('weight=3');
      res.setHeader('x-weight', req.url === '/hbad' ? 'lots' : '9');
      res.end('ok');
    });
    expect(await prober.probe(spec(port, { path: '/json', weightFrom: { json: ['lb', 'weight'] }, body: { substring: 'ok' } }))).toMatchObject({
      up: true,
      reason: 'ok',
      weight: 7.5,
    });
    expect(await prober.probe(spec(port, { path: '/zero', weightFrom: { json: ['weight'] } }))).toMatchObject({ up: true, weight: 0 });
    expect(await prober.probe(spec(port, { path: '/h', weightFrom: { header: 'x-weight' } }))).toMatchObject({ up: true, weight: 9 });
    expect(await prober.probe(spec(port, { path: '/h', method: 'HEAD', weightFrom: { header: 'x-weight' } }))).toMatchObject({ up: true, weight: 9 });
    const bad = [
      [{ path: '/neg', weightFrom: { json: ['weight'] } }, 'weight -1 is not a number >= 0'],
      [{ path: '/text', weightFrom: { json: ['weight'] } }, 'body is not JSON'],
      [{ path: '/json', weightFrom: { json: ['weight'] } }, 'no key weight in the body'],
      [{ path: '/hbad', weightFrom: { header: 'x-weight' } }, 'weight "lots" is not a number >= 0'],
      [{ path: '/json', weightFrom: { header: 'x-other' } }, 'no x-other header'],
    ] as const;
    for (const [extra, why] of bad) {
      const r = await prober.probe(spec(port, extra as Partial<HttpProbeSpec>));
      expect(r, why).toMatchObject({ up: true, reason: 'ok', weightError: why });
      expect(r.weight).toBeUndefined();
    }
  });

  it('200 with the expected body → up (substring and regular expression)', async () => {
    const { port } = await httpServer((_req, res) => res.end('status: ok'));
    expect(await prober.probe(spec(port, { body: { substring: 'ok' } }))).toMatchObject({ up: true, reason: 'ok' });
    expect(await prober.probe(spec(port, { body: { regex: /^status: (ok|fine)$/ } }))).toMatchObject({ up: true, reason: 'ok' });
  });

  it('the wrong body → down, "body mismatch"', async () => {
    const { port } = await httpServer((_req, res) => res.end('degraded'));
    expect(await prober.probe(spec(port, { body: { substring: 'ok' } }))).toMatchObject({ up: false, reason: 'body mismatch' });
  });

  it('500 → down, "status 500"; a 302 is judged by its status and not followed', async () => {
    const { port } = await httpServer((req, res) => {
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/elsewhere' }).end();
      } else res.writeHead(500).end('boom');
    });
    expect(await prober.probe(spec(port))).toMatchObject({ up: false, reason: 'status 500' });
    expect(await prober.probe(spec(port, { path: '/moved' }))).toMatchObject({ up: true, reason: 'ok' });
    expect(await prober.probe(spec(port, { path: '/moved', expectStatus: [200, 200] }))).toMatchObject({ up: false, reason: 'status 302' });
  });

  it('a target that hangs → "timeout" within the timeout, and does not hold up other probes', async () => {
    const { port: slow } = await httpServer(() => undefined); // never answers
    const { port: fast } = await httpServer((_req, res) => res.end('ok'));
    const t0 = performance.now();
    const [hung, ok] = await Promise.all([
      prober.probe(spec(slow)),
      (async () => {
        const r = await prober.probe(spec(fast));
        return { ...r, doneAfter: performance.now() - t0 };
      })(),
    ]);
    expect(hung).toMatchObject({ up: false, reason: 'timeout' });
    expect(performance.now() - t0).toBeLessThan(800 + 1000);
    expect(ok.up).toBe(true);
    expect(ok.doneAfter).toBeLessThan(500);
  });

  it('a server that closes the connection without answering → down ("closed" or "reset")', async () => {
    const { port } = await listen(net.createServer((sock) => sock.destroy()));
    const r = await prober.probe(spec(port));
    expect(r.up).toBe(false);
    expect(['closed', 'reset']).toContain(r.reason);
  });

  it('a stopped server → "refused"; started again on the same port → up', async () => {
    const { server, port } = await httpServer((_req, res) => res.end('ok'));
    await close(server);
    expect(await prober.probe(spec(port))).toMatchObject({ up: false, reason: 'refused' });
    await listen(
      http.createServer((_req, res) => res.end('ok')),
      '127.0.0.1',
      port,
    );
    expect(await prober.probe(spec(port))).toMatchObject({ up: true });
  });

  it('an endless body is read only up to 64 KiB', async () => {
    const { port } = await httpServer((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = (): void => {
        while (res.write(chunk)) {
          /* fill the socket */
        }
        res.once('drain', pump);
      };
      pump();
    });
    const r = await prober.probe(spec(port, { body: { substring: 'never there' } }));
    expect(r).toMatchObject({ up: false, reason: 'body mismatch' });
  });

  it('sends the method, the Host header and extra headers', async () => {
    let seen: http.IncomingHttpHeaders = {};
    let method = '';
    const { port } = await httpServer((req, res) => {
      seen = req.headers;
      method = req.method ?? '';
      res.end();
    });
    expect(await prober.probe(spec(port, { method: 'HEAD', host: 'www.example.org', headers: { 'x-probe': 'meridian' } }))).toMatchObject({ up: true });
    expect(method).toBe('HEAD');
    expect(seen['host']).toBe('www.example.org');
    expect(seen['x-probe']).toBe('meridian');
  });

  it('works over IPv6 (::1)', async () => {
    let port: number;
    try {
      ({ port } = await httpServer((_req, res) => res.end('ok'), '::1'));
    } catch {
      return; // no IPv6 loopback on this machine
    }
    expect(await prober.probe(spec(port, { address: '::1' }))).toMatchObject({ up: true });
  });
});

describe('https probes with a self-signed certificate', () => {
  let dir: string;
  let port: number;
  let servernames: (string | false)[];
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'k.pem'),
        '-out',
        path.join(dir, 'c.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=probe.test',
        '-addext',
        'subjectAltName=DNS:probe.test',
      ],
      { stdio: 'ignore' },
    );
    servernames = [];
    const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'k.pem')), cert: fs.readFileSync(path.join(dir, 'c.pem')) }, (_req, res) =>
      res.end('ok'),
    );
    server.on('secureConnection', (s: tls.TLSSocket) => servernames.push((s as tls.TLSSocket & { servername: string | false }).servername));
    ({ port } = await listen(server));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('verification on (the default) → down with the TLS error code', async () => {
    const r = await prober.probe(spec(port, { kind: 'https', host: 'probe.test' }));
    expect(r.up).toBe(false);
    expect(r.reason).toMatch(/^tls: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/);
  });

  it('verification off → up, and SNI carries the host name', async () => {
    servernames.length = 0;
    const r = await prober.probe(spec(port, { kind: 'https', host: 'probe.test', tlsVerify: false }));
    expect(r).toMatchObject({ up: true, reason: 'ok' });
    expect(servernames).toContain('probe.test');
  });

  it('no SNI is sent for an IP address', async () => {
    servernames.length = 0;
    expect(await prober.probe(spec(port, { kind: 'https', tlsVerify: false }))).toMatchObject({ up: true });
    expect(servernames).toEqual([false]);
  });
});

describe('tcp probes', () => {
  it('open → up; closed → refused; reopened → up', async () => {
    const { server, port } = await listen(net.createServer((s) => s.end()));
    const tcp = { kind: 'tcp' as const, address: '127.0.0.1', port, timeoutMs: 800 };
    expect(await prober.probe(tcp)).toMatchObject({ up: true, reason: 'ok' });
    await close(server);
    expect(await prober.probe(tcp)).toMatchObject({ up: false, reason: 'refused' });
    await listen(
      net.createServer((s) => s.end()),
      '127.0.0.1',
      port,
    );
    expect(await prober.probe(tcp)).toMatchObject({ up: true });
  });
});
