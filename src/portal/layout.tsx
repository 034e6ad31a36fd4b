/** @jsxImportSource hono/jsx */
/** The portal's page frame and the small pieces every page shares. Everything shown goes through JSX, which escapes it. */
import type { Child } from "hono/jsx";

/** What every signed-in page knows: whose it is and the forms' anti-forgery token. */
export interface Frame {
  tenantId: string;
  csrf: string;
}

/** The sections of the portal, in the order of its menu. */
const SECTIONS = [
  ["sessions", "/portal/sessions", "Sessions"],
  ["events", "/portal/events", "Events"],
  ["endpoints", "/portal/endpoints", "Webhook endpoints"],
  ["decision", "/portal/decision-endpoint", "Decision endpoint"],
  ["ocpi", "/portal/ocpi", "OCPI connection"],
] as const;
export type Section = (typeof SECTIONS)[number][0];

export function Layout(props: { title: string; frame?: Frame; section?: Section; notice?: string | null; error?: string | null; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${props.title} · spark-gateway portal`}</title>
        <link rel="stylesheet" href="/portal/assets/portal.css" />
      </head>
      <body>
        <header>
          <span class="brand">spark-gateway</span>
          {props.frame && (
            <>
              <nav>
                {SECTIONS.map(([key, href, label]) => (
                  <a href={href} class={props.section === key ? "active" : undefined}>
                    {label}
                  </a>
                ))}
              </nav>
              <span class="who mono" data-testid="tenant-id">{props.frame.tenantId}</span>
              <form method="post" action="/portal/logout">
                <CsrfField token={props.frame.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </>
          )}
        </header>
        <main>
          {props.notice ? <p class="notice" role="status">{props.notice}</p> : null}
          {props.error ? <p class="error" role="alert">{props.error}</p> : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** The hidden anti-forgery field every form carries. */
export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** A one-button form that posts to `action`. */
export function PostButton(props: { action: string; csrf: string; label: string; kind?: "secondary" | "danger"; fields?: Record<string, string>; testId?: string }) {
  return (
    <form method="post" action={props.action} class="inline">
      <CsrfField token={props.csrf} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.kind} data-testid={props.testId}>
        {props.label}
      </button>
    </form>
  );
}

/** A card form with one labelled field beside its submit button, posting to `action`. */
export function OneFieldForm(props: { action: string; csrf: string; label: string; button: string; testId: string; children?: Child }) {
  return (
    <form method="post" action={props.action} class="card">
      <CsrfField token={props.csrf} />
      <label>
        {props.label}
        {props.children}
      </label>{" "}
      <button type="submit" data-testid={props.testId}>
        {props.button}
      </button>
    </form>
  );
}

/** A status word as a coloured badge. */
export function Badge(props: { value: string | null | undefined }) {
  const value = props.value ?? "—";
  return <span class={`badge ${value.replace(/[^a-z_]/g, "")}`}>{value}</span>;
}

/** A time as the API gave it (ISO 8601, UTC), or a dash. */
export function Time(props: { value: string | null | undefined }) {
  if (!props.value) return <span class="muted">—</span>;
  return <time datetime={props.value}>{props.value.replace("T", " ").replace(/\.\d+Z$/, "Z")}</time>;
}

/** An amount with its currency when known. */
export function Amount(props: { value: string | null | undefined; currency?: string | null | undefined }) {
  if (props.value === null || props.value === undefined) return <span class="muted">—</span>;
  return (
    <span class="mono">
      {props.value}
      {props.currency ? ` ${props.currency}` : ""}
    </span>
  );
}

/** A value or a dash. */
export function Maybe(props: { value: string | number | boolean | null | undefined }) {
  if (props.value === null || props.value === undefined || props.value === "") return <span class="muted">—</span>;
  return <>{String(props.value)}</>;
}

/** Facts as a definition list, skipping nothing: a missing value shows as a dash. */
export function Facts(props: { rows: Array<[string, Child]> }) {
  return (
    <dl class="facts">
      {props.rows.map(([label, value]) => (
        <>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </>
      ))}
    </dl>
  );
}

/** "Next page" when the list has one. */
export function Pager(props: { next: string | null | undefined; href: (cursor: string) => string }) {
  if (!props.next) return null;
  return (
    <p class="pager">
      <a href={props.href(props.next)}>Next page →</a>
    </p>
  );
}

/** Shows a secret once, with what to do with it. */
export function SecretOnce(props: { label: string; secret: string; children?: Child }) {
  return (
    <div class="secret" role="status">
      <p>
        <strong>{props.label}</strong> — shown once; copy it now.
      </p>
      <p>
        <code data-testid="secret">{props.secret}</code>
      </p>
      {props.children}
    </div>
  );
}
