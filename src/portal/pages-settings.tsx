/** @jsxImportSource hono/jsx */
/** The decision endpoint and the OCPI connection: what the API holds, or a clear "not configured". */
import { Badge, CsrfField, Facts, Layout, Maybe, PostButton, SecretOnce, Time } from "./layout";
import type { Frame } from "./layout";
import { Table } from "./list";
import type { DecisionEndpoint, OcpiConnection } from "./types";

export function DecisionPage(props: { frame: Frame; decision: DecisionEndpoint | null; notice: string | null; error: string | null; secret?: string | null }) {
  const d = props.decision;
  const csrf = props.frame.csrf;
  return (
    <Layout title="Decision endpoint" frame={props.frame} section="decision" notice={props.notice} error={props.error}>
      <h1>Decision endpoint</h1>
      <p class="muted">
        When set, the gateway asks this URL to approve or decline each Device Start authorization (signed like a webhook) and waits at most 2 seconds before the
        fallback answers.
      </p>
      {props.secret ? <SecretOnce label="Signing secret of the decision endpoint" secret={props.secret} /> : null}
      {d ? (
        <>
          <Facts
            rows={[
              ["URL", <span class="mono">{d.url}</span>],
              ["Fallback", <>{d.fallback}</>],
              ["Created", <Time value={d.createdAt} />],
              ["Updated", <Time value={d.updatedAt} />],
            ]}
          />
          <p>
            <PostButton action="/portal/decision-endpoint/rotate-secret" csrf={csrf} label="Rotate the secret" kind="secondary" />
            <PostButton action="/portal/decision-endpoint/delete" csrf={csrf} label="Remove" kind="danger" />
          </p>
        </>
      ) : (
        <p class="empty" data-testid="not-configured">
          Not configured: every authorization is answered by the station state alone.
        </p>
      )}
      <h2>{d ? "Change" : "Configure"}</h2>
      <form method="post" action="/portal/decision-endpoint" class="card">
        <CsrfField token={csrf} />
        <label>
          URL
          <input name="url" value={d?.url ?? ""} required size={60} placeholder="https://csms.example/spark/decide" />
        </label>
        <label>
          Fallback when it does not answer in time
          <select name="fallback">
            <option value="approve" selected={d?.fallback !== "decline"}>
              approve
            </option>
            <option value="decline" selected={d?.fallback === "decline"}>
              decline
            </option>
          </select>
        </label>
        <p>
          <button type="submit">Save</button>
        </p>
      </form>
    </Layout>
  );
}

export function OcpiPage(props: { frame: Frame; connection: OcpiConnection | null; notice: string | null; error: string | null }) {
  const c = props.connection;
  const configured = c !== null && c.status !== "none";
  const sync = (what: string) => {
    const s = c?.lastSync?.[what];
    if (!s) return <span class="muted">not pulled</span>;
    return (
      <>
        <Time value={s.at} />, {s.count ?? 0} objects in {s.pages ?? 0} page(s){s.error ? ` — stopped: ${s.error}` : ""}
      </>
    );
  };
  return (
    <Layout title="OCPI connection" frame={props.frame} section="ocpi" notice={props.notice} error={props.error}>
      <h1>OCPI connection</h1>
      {!configured ? (
        <p class="empty" data-testid="not-configured">
          Not configured: no OCPI connection to a CPO. Sessions are reported by webhooks and the API only.
        </p>
      ) : null}
      {c && configured ? (
        <>
          <Facts
            rows={[
              ["Status", <Badge value={c.status} />],
              ["Version", <Maybe value={c.version} />],
              ["Initiated by", <Maybe value={c.initiatedBy} />],
              ["Token encoding", <>{c.tokenEncoding ?? "by version"}</>],
              ["Gateway (eMSP)", <>{c.emsp ? `${c.emsp.countryCode ?? ""}/${c.emsp.partyId ?? ""} ${c.emsp.versionsUrl ?? ""}` : "—"}</>],
              ["CPO versions URL", <span class="mono">{c.cpo?.versionsUrl ?? "—"}</span>],
              ["Locations pulled", sync("locations")],
              ["Tariffs pulled", sync("tariffs")],
              ["Registered", <Time value={c.registeredAt} />],
              ["Updated", <Time value={c.updatedAt} />],
            ]}
          />
          <h2>CPO parties</h2>
          <Table
            columns={["Country", "Party", "Role", "Name"]}
            items={[...(c.cpo?.parties ?? []), ...(c.additionalParties ?? []).map((p) => ({ ...p, role: "additional", name: null }))]}
            row={(p) => (
              <tr>
                <td>{p.countryCode ?? "—"}</td>
                <td>{p.partyId ?? "—"}</td>
                <td>{p.role ?? "—"}</td>
                <td>{p.name ?? "—"}</td>
              </tr>
            )}
          />
          <h2>CPO endpoints</h2>
          <Table
            columns={["Module", "Role", "URL"]}
            items={c.cpo?.endpoints ?? []}
            row={(e) => (
              <tr>
                <td>{e.identifier ?? "—"}</td>
                <td>{e.role ?? "—"}</td>
                <td class="mono">{e.url ?? "—"}</td>
              </tr>
            )}
          />
          {c.status === "connected" ? (
            <p>
              <PostButton action="/portal/ocpi/sync" csrf={props.frame.csrf} label="Pull Locations and Tariffs again" kind="secondary" />
            </p>
          ) : null}
        </>
      ) : null}
      {c && c.status === "invited" ? <p class="muted">An invitation is open: the CPO has not registered with it yet.</p> : null}
    </Layout>
  );
}

export function LoginPage(props: { csrf: string; error?: string | null; notice?: string | null }) {
  return (
    <Layout title="Sign in" error={props.error ?? null} notice={props.notice ?? null}>
      <div class="login card">
        <h1>Sign in to the portal</h1>
        <p class="muted">Open the sign-in link your operator gave you, or sign in with your API key.</p>
        <form method="post" action="/portal/login">
          <CsrfField token={props.csrf} />
          <label>
            API key
            <input type="password" name="apiKey" autocomplete="off" required />
          </label>
          <p>
            <button type="submit" data-testid="sign-in">
              Sign in
            </button>
          </p>
        </form>
      </div>
    </Layout>
  );
}

/** Where a page is missing or belongs to someone else: the same answer for both. */
export function NotFoundPage(props: { frame: Frame; what: string }) {
  return (
    <Layout title="Not found" frame={props.frame} error={`${props.what} not found.`}>
      <h1>Not found</h1>
      <p>
        <a href="/portal/sessions">Back to sessions</a>
      </p>
    </Layout>
  );
}

/** A page that moves the browser on from a same-site document, so a SameSite=Strict cookie goes along. */
export function ContinuePage(props: { to: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content={`0; url=${props.to}`} />
        <title>Continue · spark-gateway portal</title>
      </head>
      <body>
        <p>
          <a href={props.to}>Continue to the portal</a>
        </p>
      </body>
    </html>
  );
}
