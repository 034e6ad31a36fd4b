/** @jsxImportSource hono/jsx */
/** Webhook endpoints: their health, and adding, editing, disabling, rotating, testing and recovering them. */
import { Badge, CsrfField, Facts, Layout, Maybe, OneFieldForm, PostButton, SecretOnce, Time } from "./layout";
import type { Frame } from "./layout";
import { Table } from "./list";
import { EVENT_TYPE_CHOICES } from "./types";
import type { Endpoint } from "./types";

/** How far back "Recover" looks by default: the whole retry window of a failed delivery (about 3 days). */
const DEFAULT_RECOVER_WINDOW_MS = 3 * 24 * 60 * 60 * 1000;

function SuccessRate(props: { value: string | null | undefined }) {
  if (props.value === null || props.value === undefined) return <span class="muted">—</span>;
  const percent = Math.round(Number(props.value) * 100);
  return <Badge value={percent >= 95 ? "ok" : percent >= 50 ? "pending" : "bad"} />;
}

function rateText(value: string | null | undefined): string {
  return value === null || value === undefined ? "no attempts in 24 h" : `${Math.round(Number(value) * 100)} % of attempts in 24 h`;
}

function EventTypeChecks(props: { selected: string[] | null }) {
  return (
    <div class="checks">
      {EVENT_TYPE_CHOICES.map((t) => (
        <label class="check">
          <input type="checkbox" name="eventTypes" value={t} checked={props.selected?.includes(t) ?? false} /> {t}
        </label>
      ))}
    </div>
  );
}

export function EndpointsPage(props: { frame: Frame; endpoints: Endpoint[]; notice: string | null; error: string | null; created?: { endpoint: Endpoint; secret: string } | null; form?: { url: string } }) {
  return (
    <Layout title="Webhook endpoints" frame={props.frame} section="endpoints" notice={props.notice} error={props.error}>
      <h1>Webhook endpoints</h1>
      {props.created ? (
        <SecretOnce label={`Signing secret of ${props.created.endpoint.url}`} secret={props.created.secret}>
          <p class="muted">Verify each webhook's signature with it (Standard Webhooks). It cannot be shown again; rotate it to get a new one.</p>
        </SecretOnce>
      ) : null}
      {props.endpoints.length === 0 ? <p class="empty">No webhook endpoint yet.</p> : null}
      {props.endpoints.length > 0 ? (
        <Table
          testId="endpoints"
          columns={["URL", "State", "Success (24 h)", "Last success", "Last error", ["Pending", "num"], "Next retry"]}
          items={props.endpoints}
          row={(e) => (
            <tr>
              <td class="mono">
                <a href={`/portal/endpoints/${encodeURIComponent(e.id)}`}>{e.url}</a>
              </td>
              <td>
                <Badge value={e.enabled ? "ok" : "skipped"} /> {e.enabled ? "enabled" : `disabled${e.disabledReason ? `: ${e.disabledReason}` : ""}`}
              </td>
              <td>
                <SuccessRate value={e.health?.recentSuccessRate} /> {e.health ? rateText(e.health.recentSuccessRate) : <span class="muted">—</span>}
              </td>
              <td>
                <Time value={e.health?.lastSuccessAt} />
              </td>
              <td>
                <Maybe value={e.health?.lastError} />
              </td>
              <td class="num">
                <Maybe value={e.health?.pendingCount} />
              </td>
              <td>
                <Time value={e.health?.nextAttemptAt} />
              </td>
            </tr>
          )}
        />
      ) : null}
      <h2>Add an endpoint</h2>
      <form method="post" action="/portal/endpoints" class="card">
        <CsrfField token={props.frame.csrf} />
        <label>
          URL (https://, or http:// on loopback)
          <input name="url" value={props.form?.url ?? ""} required placeholder="https://csms.example/hooks/spark" size={60} />
        </label>
        <p class="muted">Event types (none ticked: every type)</p>
        <EventTypeChecks selected={null} />
        <button type="submit" data-testid="add-endpoint">
          Add endpoint
        </button>
      </form>
    </Layout>
  );
}

export function EndpointPage(props: { frame: Frame; endpoint: Endpoint; notice: string | null; error: string | null; secret?: string | null }) {
  const e = props.endpoint;
  const csrf = props.frame.csrf;
  const base = `/portal/endpoints/${encodeURIComponent(e.id)}`;
  const since = new Date(Date.now() - DEFAULT_RECOVER_WINDOW_MS).toISOString();
  return (
    <Layout title={`Endpoint ${e.url}`} frame={props.frame} section="endpoints" notice={props.notice} error={props.error}>
      <h1>
        Endpoint <span class="mono">{e.url}</span>
      </h1>
      {props.secret ? (
        <SecretOnce label="New signing secret" secret={props.secret}>
          <p class="muted">The previous secret keeps signing beside it for 24 hours, so your receiver can switch over without losing events.</p>
        </SecretOnce>
      ) : null}
      <Facts
        rows={[
          ["Id", <span class="mono">{e.id}</span>],
          ["State", <>{e.enabled ? "enabled" : "disabled"}{e.disabledReason ? ` — ${e.disabledReason}` : ""}</>],
          ["Event types", <>{e.eventTypes ? e.eventTypes.join(", ") : "every type"}</>],
          ["Created", <Time value={e.createdAt} />],
          ["Success (24 h)", <>{e.health ? rateText(e.health.recentSuccessRate) : "—"}</>],
          ["Last success", <Time value={e.health?.lastSuccessAt} />],
          ["Last failure", <Time value={e.health?.lastFailureAt} />],
          ["Last error", <Maybe value={e.health?.lastError} />],
          ["Pending events", <Maybe value={e.health?.pendingCount} />],
          ["Next retry", <Time value={e.health?.nextAttemptAt} />],
        ]}
      />
      <p>
        <a href={`/portal/events?endpointId=${encodeURIComponent(e.id)}&deliveryStatus=failed`}>Events whose delivery here failed</a> ·{" "}
        <a href={`/portal/events?endpointId=${encodeURIComponent(e.id)}`}>All its events</a>
      </p>
      <h2>Actions</h2>
      <div>
        <PostButton action={`${base}/test`} csrf={csrf} label="Send a test event" testId="send-test" />
        <PostButton action={`${base}/rotate-secret`} csrf={csrf} label="Rotate the secret" kind="secondary" testId="rotate-secret" />
        {e.enabled ? (
          <PostButton action={`${base}/disable`} csrf={csrf} label="Disable" kind="secondary" testId="disable" />
        ) : (
          <PostButton action={`${base}/enable`} csrf={csrf} label="Enable" kind="secondary" testId="enable" />
        )}
        <PostButton action={`${base}/delete`} csrf={csrf} label="Delete" kind="danger" testId="delete" />
      </div>
      <OneFieldForm action={`${base}/recover`} csrf={csrf} label="Recover: send again, in order, every event since this time whose delivery here failed or was skipped" button="Recover" testId="recover">
        <input name="since" value={since} size={30} />
      </OneFieldForm>
      <h2>Edit</h2>
      <form method="post" action={base} class="card">
        <CsrfField token={csrf} />
        <label>
          URL
          <input name="url" value={e.url} required size={60} />
        </label>
        <p class="muted">Event types (none ticked: every type)</p>
        <EventTypeChecks selected={e.eventTypes} />
        <button type="submit" data-testid="save-endpoint">
          Save
        </button>
      </form>
    </Layout>
  );
}
