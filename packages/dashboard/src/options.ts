/**
 * Options of `serveDashboard`, validated with zod before anything listens (exported so tools
 * can reuse the schema).
 * @module
 */
import { z } from 'zod';

const LOOPBACK = '127.0.0.1';

export const dashboardOptionsSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(0),
    host: z.string().min(1).default(LOOPBACK),
    token: z
      .string()
      .regex(/^[A-Za-z0-9_-]{32,}$/, 'must be at least 32 characters of base64url (e.g. crypto.randomBytes(32).toString("base64url"))')
      .optional(),
    print: z.union([z.boolean(), z.custom<(url: string) => void>((v) => typeof v === 'function', 'must be a function')]).default(true),
    sampleMs: z.number().int().min(50).max(60_000).default(1_000),
    historyMinutes: z
      .number()
      .min(1)
      .max(24 * 60)
      .default(10),
  })
  .strict();

/** Options of {@link serveDashboard}. Unknown names are refused. */
export interface DashboardOptions {
  /**
   * TCP port to serve on; `0` lets the operating system pick a free one.
   * @defaultValue 0
   */
  port?: number | undefined;
  /**
   * Interface to listen on. Give `'0.0.0.0'` (or an address) to reach the page from another
   * machine; the token still guards every request.
   * @defaultValue `'127.0.0.1'` (this machine only)
   */
  host?: string | undefined;
  /**
   * The token every request must carry (`?token=…`, or `Authorization: Bearer …` for scrapers):
   * base64url, at least 32 characters. Give one to keep a stable URL for a Prometheus scrape config.
   * @defaultValue a fresh random token (32 bytes)
   */
  token?: string | undefined;
  /**
   * Print `dashboard: <url>` on stderr when serving (`true`), stay quiet (`false`), or call
   * this function with the URL.
   * @defaultValue true
   */
  print?: boolean | ((url: string) => void) | undefined;
  /**
   * How often the charts get a point and open pages a fresh snapshot, in milliseconds (events
   * such as a lost worker are pushed at once, at most every 200 ms).
   * @defaultValue 1000
   */
  sampleMs?: number | undefined;
  /**
   * How many minutes of chart history the server keeps (and a page opened later receives).
   * @defaultValue 10
   */
  historyMinutes?: number | undefined;
}

export type ResolvedDashboardOptions = z.output<typeof dashboardOptionsSchema>;

/** Validate options; the error names the option and what to give instead. */
export function parseDashboardOptions(options: DashboardOptions): ResolvedDashboardOptions {
  const parsed = dashboardOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`).join('; ');
  throw new TypeError(`serveDashboard: invalid options — ${problems}`);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
