/**
 * The portal's view of the tenant API: every page reads and every form writes through the
 * gateway's own JSON routes, called in-process as the signed-in tenant, so the portal shows
 * exactly what the API shows and nothing the API would refuse.
 */
import { actAs } from "../routes/auth";

/** How the portal reaches the app: the app's own `fetch`, inside this isolate. */
export type Dispatch = (request: Request) => Promise<Response>;

/** An API answer: the HTTP status and the parsed JSON body (null when empty or not JSON). */
export interface ApiAnswer<T = unknown> {
  status: number;
  ok: boolean;
  body: T;
}

/** The API's error body, as far as the portal reads it. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string; details?: Array<{ field: string; message: string }> };
}

/** The tenant API as one tenant, in-process. */
export class PortalApi {
  constructor(
    private readonly dispatch: Dispatch,
    private readonly origin: string,
    readonly tenantId: string,
  ) {}

  /** GET `path` (with its query) as the tenant. */
  get<T>(path: string): Promise<ApiAnswer<T>> {
    return this.call<T>("GET", path);
  }

  /** A write as the tenant; `body` is sent as JSON when given. */
  send<T>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<ApiAnswer<T>> {
    return this.call<T>(method, path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (text !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(new TextEncoder().encode(text).byteLength);
    }
    const request = actAs(new Request(new URL(path, this.origin), { method, headers, body: text }), this.tenantId);
    const response = await this.dispatch(request);
    const raw = await response.text();
    let parsed: unknown = null;
    try {
      parsed = raw ? JSON.parse(raw) : null;
    } catch {
      parsed = null;
    }
    return { status: response.status, ok: response.ok, body: parsed as T };
  }
}

/** The API's error message of a failed answer, for a notice on the page. */
export function errorMessage(answer: ApiAnswer<unknown>): string {
  const error = (answer.body as ApiErrorBody | null)?.error;
  return error?.message ? error.message : `the request failed (HTTP ${answer.status})`;
}

/** `path?query` from a record, leaving out empty values. */
export function withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && String(value) !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
