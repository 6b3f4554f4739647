/**
 * The dashboard's only credential: a random token in its URL. Every request must present it;
 * the comparison takes the same time however much of a guess is right.
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares digests, so neither the length nor any prefix of the token leaks through timing. */
export function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token a request carries: `?token=…` (pages, assets, SSE), or `Authorization: Bearer …` (scrapers). */
export function requestToken(request: IncomingMessage, url: URL): string {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery !== null) return fromQuery;
  const auth = request.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : '';
}
