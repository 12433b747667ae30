/** A real HTTP health-check target on a loopback address (test support). */
import http from 'node:http';

/** An HTTP target that can be healthy, failing (500) or stopped, on one loopback address. */
export class Target {
  /** Requests served so far (probes). */
  hits = 0;
  server: http.Server | null = null;
  status = 200;
  constructor(
    readonly host: string,
    readonly port: number,
  ) {}
  async start(): Promise<void> {
    this.server = http.createServer((_req, res) => {
      this.hits++;
      res.writeHead(this.status, { 'content-type': 'text/plain', connection: 'close' });
      res.end(this.status === 200 ? 'ok' : 'failing');
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, this.host, () => resolve());
    });
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
