/**
 * An admin API request as the e2e tests make it: a JSON (or, for a string, `text/dns`) body in, the
 * status, headers, text and JSON out. And the node's own write token (admin/local-token.ts), which
 * every write needs when a node runs with no token configured.
 */
import fs from 'node:fs';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
  text: string;
}

export async function apiRequest(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= typeof body === 'string' ? 'text/dns' : 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json: ApiResponse['json'];
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** The write token a node made for itself, read from its file (RunningNode.localTokenFile, MeridianProcess.tokenFile). */
export function localToken(file: string | null | undefined): string {
  if (!file) throw new Error('this node has no token file of its own (it runs with --tokens)');
  return fs.readFileSync(file, 'utf8').trim();
}

/** `authorization: Bearer <token>` for a request's headers. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
