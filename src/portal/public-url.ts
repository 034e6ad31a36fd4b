/**
 * The gateway's public base URL: `PUBLIC_URL` when set, else the origin the request reached
 * (locally `http://127.0.0.1:{PORT}`, the contract's default), never with a trailing slash.
 */
export function publicUrl(env: Env, requestUrl: string): string {
  const configured = (env as { PUBLIC_URL?: string }).PUBLIC_URL?.trim();
  if (configured) return configured.replace(/\/+$/, "");
  return new URL(requestUrl).origin;
}
