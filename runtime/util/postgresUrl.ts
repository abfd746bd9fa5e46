/** PostgreSQL connection URLs, as the state and the `postgres` connector both take them. */

/** Whether a text is a PostgreSQL URL (`postgres://` or `postgresql://`). */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//i.test(text);
}

/** The URL as messages may show it: user, host, port and database, never the password; `fallback` when it does not parse. */
export function describePostgresUrl(url: string, fallback: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : '';
    return `postgres://${user}${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return fallback;
  }
}
