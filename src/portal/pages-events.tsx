/** @jsxImportSource hono/jsx */
/** The event log (filtered by type, session, endpoint and delivery status) and one event with its deliveries. */
import { Badge, Layout, OneFieldForm, PostButton, Time } from "./layout";
import type { Frame } from "./layout";
import { ChoiceFilter, FilterForm, PagedTable, Table, TextFilter } from "./list";
import { DELIVERY_STATUS_CHOICES, EVENT_TYPE_CHOICES } from "./types";
import type { Attempt, Endpoint, EventBody, Page } from "./types";

export interface EventFilters {
  type?: string;
  sessionId?: string;
  endpointId?: string;
  deliveryStatus?: string;
}

function DeliveryBadges(props: { event: EventBody; endpoints: Map<string, Endpoint> }) {
  const deliveries = props.event.deliveries;
  if (!deliveries || deliveries.length === 0) return <span class="muted">—</span>;
  return (
    <>
      {deliveries.map((d) => (
        <div>
          <Badge value={d.status} /> <span class="mono muted">{props.endpoints.get(d.endpointId)?.url ?? d.endpointId}</span>
          {d.nextAttemptAt ? (
            <span class="muted">
              {" "}
              next <Time value={d.nextAttemptAt} />
            </span>
          ) : null}
        </div>
      ))}
    </>
  );
}

export function EventsPage(props: { frame: Frame; filters: EventFilters; endpoints: Endpoint[]; page: Page<EventBody> | null; error: string | null; nextHref: (cursor: string) => string }) {
  const f = props.filters;
  const byId = new Map(props.endpoints.map((e) => [e.id, e]));
  return (
    <Layout title="Events" frame={props.frame} section="events" error={props.error}>
      <h1>Events</h1>
      <FilterForm action="/portal/events">
        <ChoiceFilter label="Type" name="type" selected={f.type} choices={EVENT_TYPE_CHOICES} />
        <TextFilter label="Session" name="sessionId" value={f.sessionId} placeholder="SparkTransactionId" />
        <ChoiceFilter label="Endpoint" name="endpointId" selected={f.endpointId} choices={props.endpoints.map((e) => [e.id, e.url] as const)} />
        <ChoiceFilter label="Delivery status" name="deliveryStatus" selected={f.deliveryStatus} choices={DELIVERY_STATUS_CHOICES} />
      </FilterForm>
      <PagedTable
        page={props.page}
        empty="No events match."
        testId="events"
        columns={["Event", "Type", "Session", "Time", "Deliveries"]}
        nextHref={props.nextHref}
        row={(e) => {
          const sessionId = e.data?.session?.id;
          return (
            <tr>
              <td class="mono">
                <a href={`/portal/events/${encodeURIComponent(e.id)}`}>{e.id}</a>
              </td>
              <td>{e.type}</td>
              <td class="mono">
                {sessionId ? <a href={`/portal/sessions/${encodeURIComponent(sessionId)}`}>{sessionId}</a> : <span class="muted">—</span>}
                {e.data?.sequence !== undefined ? <span class="muted"> #{e.data.sequence}</span> : null}
              </td>
              <td>
                <Time value={e.timestamp} />
              </td>
              <td>
                <DeliveryBadges event={e} endpoints={byId} />
              </td>
            </tr>
          );
        }}
      />
    </Layout>
  );
}

export function EventPage(props: { frame: Frame; event: EventBody; attempts: Attempt[] | null; endpoints: Endpoint[]; notice: string | null; error: string | null }) {
  const { deliveries, ...body } = props.event;
  const byId = new Map(props.endpoints.map((e) => [e.id, e]));
  const sessionId = props.event.data?.session?.id;
  const csrf = props.frame.csrf;
  return (
    <Layout title={`Event ${props.event.id}`} frame={props.frame} section="events" notice={props.notice} error={props.error}>
      <h1>
        Event <span class="mono">{props.event.id}</span>
      </h1>
      <p>
        {props.event.type} · <Time value={props.event.timestamp} />
        {sessionId ? (
          <>
            {" "}
            · session <a class="mono" href={`/portal/sessions/${encodeURIComponent(sessionId)}`}>{sessionId}</a>
          </>
        ) : null}
      </p>
      <h2>Deliveries</h2>
      {deliveries && deliveries.length > 0 ? (
        <Table
          testId="deliveries"
          columns={["Endpoint", "Status", ["Attempts", "num"], "Last attempt", "Next retry", ""]}
          items={deliveries}
          row={(d) => (
            <tr>
              <td class="mono">
                <a href={`/portal/endpoints/${encodeURIComponent(d.endpointId)}`}>{byId.get(d.endpointId)?.url ?? d.endpointId}</a>
              </td>
              <td>
                <Badge value={d.status} />
              </td>
              <td class="num">{d.attempts ?? "—"}</td>
              <td>
                <Time value={d.lastAttemptAt} />
              </td>
              <td>
                <Time value={d.nextAttemptAt} />
              </td>
              <td>
                <PostButton action={`/portal/events/${encodeURIComponent(props.event.id)}/redeliver`} csrf={csrf} label="Redeliver" kind="secondary" fields={{ endpointId: d.endpointId }} />
              </td>
            </tr>
          )}
        />
      ) : (
        <p class="muted">No delivery status for this event.</p>
      )}
      <OneFieldForm action={`/portal/events/${encodeURIComponent(props.event.id)}/redeliver`} csrf={csrf} label="Redeliver (same webhook-id) to" button="Redeliver" testId="redeliver">
        <select name="endpointId">
          <option value="">every endpoint it has not reached</option>
          {props.endpoints.map((e) => (
            <option value={e.id}>{e.url}</option>
          ))}
        </select>
      </OneFieldForm>
      <h2>Attempts</h2>
      {props.attempts === null ? <p class="muted">The attempts are not recorded yet; reload in a moment.</p> : null}
      {props.attempts && props.attempts.length === 0 ? <p class="muted">No attempt yet.</p> : null}
      {props.attempts && props.attempts.length > 0 ? (
        <Table
          testId="attempts"
          columns={["Time", "Endpoint", "Trigger", "Result", ["ms", "num"], "Next attempt", "Response"]}
          items={props.attempts}
          row={(a) => (
            <tr>
              <td>
                <Time value={a.attemptedAt} />
              </td>
              <td class="mono">{byId.get(a.endpointId)?.url ?? a.endpointId}</td>
              <td>{a.trigger ?? "—"}</td>
              <td>
                {a.status === null ? <Badge value="failed" /> : <Badge value={a.status >= 200 && a.status < 300 ? "ok" : "bad"} />} {a.status === null ? "" : `HTTP ${a.status}`} {a.error ?? ""}
              </td>
              <td class="num">{a.durationMs}</td>
              <td>
                <Time value={a.nextAttemptAt} />
              </td>
              <td class="mono">{a.responseExcerpt ?? ""}</td>
            </tr>
          )}
        />
      ) : null}
      <h2>Body, as signed and sent</h2>
      <pre data-testid="event-body">{JSON.stringify(body, null, 2)}</pre>
    </Layout>
  );
}
