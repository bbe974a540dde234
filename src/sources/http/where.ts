/**
 * How an HTTP call is named in its errors: the method and the URL with its query string's
 * names but not its values (`GET http://api/orders?region=…&api_key=…`). Those values are a
 * run's params and API keys; an error goes to every watcher of the executor (`events$`, the
 * live view, OpenTelemetry exports), not just to the principal who made the call.
 */
export function describeCall(method: string, url: URL): string {
  return `${method} ${describeUrl(url)}`;
}

/** The URL with its query string's names but not its values. */
export function describeUrl(url: URL): string {
  const names = [...new Set(url.searchParams.keys())];
  const search = names.length === 0 ? '' : `?${names.map((n) => `${encodeURIComponent(n)}=…`).join('&')}`;
  return `${url.origin}${url.pathname}${search}`;
}
