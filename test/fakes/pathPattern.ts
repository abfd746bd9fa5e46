/** A route's path as the vendor's documentation writes it (`/api/v2/tickets/{ticket_id}`), compiled for matching. */
export interface PathPattern {
  regex: RegExp;
  /** The parameters' names, in the order they stand in the path. */
  names: string[];
}

/**
 * Compiles a documented path for the fakes' route tables: each `{name}` matches `param(name)` (one path segment unless
 * the vendor's ids are narrower), the whole path must match, and a trailing slash is allowed where `trailingSlash` says.
 */
export function pathPattern(pattern: string, param: (name: string) => string = () => '[^/]+', options: { trailingSlash?: boolean } = {}): PathPattern {
  const names: string[] = [];
  const source = pattern.replace(/\{(\w+)\}/g, (_match, name: string) => {
    names.push(name);
    return `(${param(name)})`;
  });
  return { regex: new RegExp(`^${source}${options.trailingSlash ? '/?' : ''}$`), names };
}

/** The parameters of `path`, which `pattern` matches, by name and URL-decoded. */
export function pathParams(pattern: PathPattern, path: string): Record<string, string> {
  const match = pattern.regex.exec(path);
  if (!match) throw new Error(`${path} does not match ${pattern.regex.source}`);
  return Object.fromEntries(pattern.names.map((name, index) => [name, decodeURIComponent(match[index + 1] as string)]));
}
