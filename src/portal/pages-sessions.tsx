/** @jsxImportSource hono/jsx */
/** Sessions: the filtered list, and one session at a glance. */
import type { Child } from "hono/jsx";
import { Amount, Badge, Facts, Layout, Maybe, PostButton, Time } from "./layout";
import type { Frame } from "./layout";
import { ChoiceFilter, FilterForm, PagedTable, Table, TextFilter } from "./list";
import { SESSION_STATUS_CHOICES } from "./types";
import type { Attempt, Endpoint, EventBody, Page, SessionView } from "./types";

export interface SessionFilters {
  status?: string;
  siteId?: string;
  from?: string;
  to?: string;
}

export function SessionsPage(props: { frame: Frame; filters: SessionFilters; page: Page<SessionView> | null; error: string | null; nextHref: (cursor: string) => string }) {
  const f = props.filters;
  return (
    <Layout title="Sessions" frame={props.frame} section="sessions" error={props.error}>
      <h1>Sessions</h1>
      <FilterForm action="/portal/sessions">
        <ChoiceFilter label="Status" name="status" selected={f.status} choices={SESSION_STATUS_CHOICES} />
        <TextFilter label="SiteId" name="siteId" value={f.siteId} numeric />
        <TextFilter label="From (ISO 8601)" name="from" value={f.from} placeholder="2026-01-01T00:00:00Z" />
        <TextFilter label="To (ISO 8601)" name="to" value={f.to} placeholder="2026-12-31T23:59:59Z" />
      </FilterForm>
      <PagedTable
        page={props.page}
        empty="No sessions match."
        testId="sessions"
        columns={["Session", "Status", "Flow", "Site / machine / station", ["Authorized", "num"], ["Settled", "num"], "Created"]}
        nextHref={props.nextHref}
        row={(s) => (
          <tr>
            <td class="mono">
              <a href={`/portal/sessions/${encodeURIComponent(s.id)}`}>{s.id}</a>
              {s.overdue ? <span class="badge bad"> overdue</span> : null}
            </td>
            <td>
              <Badge value={s.status} />
            </td>
            <td>
              <Maybe value={s.flow} />
            </td>
            <td>
              <Maybe value={s.siteId} /> / <Maybe value={s.machineId} /> / <Maybe value={s.serviceStationNumber} />
            </td>
            <td class="num">
              <Amount value={s.authorizedAmount} currency={s.currency} />
            </td>
            <td class="num">
              <Amount value={s.settledAmount} currency={s.currency} />
            </td>
            <td>
              <Time value={s.createdAt} />
            </td>
          </tr>
        )}
      />
    </Layout>
  );
}

/** Each endpoint's delivery of one event: the API's `deliveries` when it has them, with that endpoint's attempts. */
function EventDeliveries(props: { event: EventBody; attempts: Attempt[] | null; endpoints: Map<string, Endpoint>; csrf: string }) {
  const { event, attempts } = props;
  const deliveries = event.deliveries ?? [];
  const endpointIds = [...new Set([...deliveries.map((d) => d.endpointId), ...(attempts ?? []).map((a) => a.endpointId)])];
  if (endpointIds.length === 0) return <p class="muted">No webhook endpoint was meant to receive this event.</p>;
  return (
    <Table
      columns={["Endpoint", "Delivery", ["Attempts", "num"], "Last attempt", "Next retry", "Attempts (time · trigger · result · ms)", ""]}
      items={endpointIds}
      row={(endpointId) => {
        const delivery = deliveries.find((d) => d.endpointId === endpointId);
        const mine = (attempts ?? []).filter((a) => a.endpointId === endpointId);
        return (
          <tr>
            <td class="mono">
              <a href={`/portal/endpoints/${encodeURIComponent(endpointId)}`}>{props.endpoints.get(endpointId)?.url ?? endpointId}</a>
            </td>
            <td>{delivery ? <Badge value={delivery.status} /> : <span class="muted">—</span>}</td>
            <td class="num">{delivery?.attempts ?? mine.length}</td>
            <td>
              <Time value={delivery?.lastAttemptAt ?? mine.at(-1)?.attemptedAt} />
            </td>
            <td>
              <Time value={delivery?.nextAttemptAt ?? mine.at(-1)?.nextAttemptAt} />
            </td>
            <td>
              {attempts === null ? <span class="muted">not recorded yet</span> : null}
              {mine.map((a) => (
                <div class="mono">
                  <Time value={a.attemptedAt} /> · {a.trigger ?? "—"} · {a.status === null ? (a.error ?? "no answer") : `HTTP ${a.status}`}
                  {a.status !== null && a.error ? ` (${a.error})` : ""} · {a.durationMs}
                </div>
              ))}
            </td>
            <td>
              <PostButton action={`/portal/events/${encodeURIComponent(event.id)}/redeliver`} csrf={props.csrf} label="Redeliver" kind="secondary" fields={{ endpointId, back: "session" }} />
            </td>
          </tr>
        );
      }}
    />
  );
}

function sparkRows(s: SessionView): Array<[string, Child]> {
  const rows: Array<[string, Child]> = [];
  if (s.verdict) rows.push(["Authorization", <>{s.verdict.approved ? "approved" : "declined"}{s.verdict.message ? ` — ${s.verdict.message}` : ""}</>]);
  if (s.decline) rows.push(["Decline", <>{s.decline.code ?? "—"} {s.decline.description ?? ""}</>]);
  if (s.decision) rows.push(["Decision endpoint", <>{s.decision.source ?? "—"}: {s.decision.approved ? "approve" : "decline"}{s.decision.error ? ` (${s.decision.error})` : ""}{s.decision.durationMs !== undefined ? `, ${s.decision.durationMs} ms` : ""}</>]);
  if (s.settlement) {
    const st = s.settlement;
    rows.push(["Settlement", <>{st["amount"] ?? "—"} {st["currency"] ?? ""} · auth code {st["authCode"] ?? "—"} · Nayax RRN {st["nayaxRrn"] ?? "—"} · <Time value={st["settledAt"]} /></>]);
  }
  if (s.operation) {
    const op = s.operation;
    rows.push([
      "Call in progress",
      <>
        <Badge value={op.state} /> {op.kind ?? ""} {op.amount ?? ""} since <Time value={op.since} />, {op.attempts ?? 0} request(s)
        {op.lastError ? ` — last error: ${op.lastError.code ?? ""} ${op.lastError.description}` : ""}
      </>,
    ]);
  }
  if (s.lastSparkError) rows.push(["Last failed call", <span class="error-text">{s.lastSparkError.method ?? "Spark"}: {s.lastSparkError.code ?? ""} {s.lastSparkError.description} (<Time value={s.lastSparkError.at} />)</span>]);
  return rows;
}

function OcpiSection(props: { ocpi: Record<string, unknown> | null | undefined }) {
  if (!props.ocpi) return <p class="muted">This session is not driven over OCPI.</p>;
  const o = props.ocpi;
  const call = (value: unknown) => {
    if (!value || typeof value !== "object") return <span class="muted">—</span>;
    const v = value as Record<string, unknown>;
    return (
      <>
        sent <Time value={v["sentAt"] as string | undefined} />, answer {String(v["response"] ?? "—")}, result {String(v["result"] ?? "—")}
        {v["reason"] ? `, reason ${String(v["reason"])}` : ""}
      </>
    );
  };
  return (
    <>
      <Facts
        rows={[
          ["Connection", <>{String(o["version"] ?? "—")} {String(o["countryCode"] ?? "")}/{String(o["partyId"] ?? "")}</>],
          ["EVSE", <>{String(o["locationId"] ?? "—")} / {String(o["evseUid"] ?? "—")} / {String(o["connectorId"] ?? "—")}</>],
          ["START_SESSION", call(o["start"])],
          ["STOP_SESSION", call(o["stop"])],
          ["CPO session", <>{String(o["sessionId"] ?? "—")} <Badge value={(o["status"] as string | null) ?? null} /> {o["kwh"] !== undefined && o["kwh"] !== null ? `${String(o["kwh"])} kWh` : ""}</>],
          ["CDR", <>{String(o["cdrId"] ?? "—")}, charge {String(o["charge"] ?? "—")}</>],
          ["Cancel reason", <Maybe value={o["cancelReason"] as string | null} />],
          ["Review reasons", <>{Array.isArray(o["reviewReasons"]) && o["reviewReasons"].length > 0 ? (o["reviewReasons"] as unknown[]).join(", ") : "—"}</>],
        ]}
      />
      <details>
        <summary>Raw OCPI state</summary>
        <pre>{JSON.stringify(o, null, 2)}</pre>
      </details>
    </>
  );
}

export function SessionPage(props: {
  frame: Frame;
  session: SessionView;
  attempts: Map<string, Attempt[] | null>;
  endpoints: Map<string, Endpoint>;
  notice: string | null;
  error: string | null;
}) {
  const s = props.session;
  const spark = sparkRows(s);
  const { events: _events, ...view } = s;
  return (
    <Layout title={`Session ${s.id}`} frame={props.frame} section="sessions" notice={props.notice} error={props.error}>
      <h1>
        Session <span class="mono">{s.id}</span> <Badge value={s.status} />
      </h1>
      <Facts
        rows={[
          ["Flow", <Maybe value={s.flow} />],
          ["Nayax transaction", <Maybe value={s.nayaxTransactionId} />],
          ["Site / stop site", <><Maybe value={s.siteId} /> / <Maybe value={s.stopSiteId} /></>],
          ["Machine / serial / station", <><Maybe value={s.machineId} /> / <Maybe value={s.hwSerial} /> / <Maybe value={s.serviceStationNumber} /></>],
          ["Authorized", <Amount value={s.authorizedAmount} currency={s.currency} />],
          ["Settled", <Amount value={s.settledAmount} currency={s.currency} />],
          ["Card", s.card ? <>…{s.card.last4 ?? "????"} <span class="mono muted">{s.card.hash ? `${s.card.hash.slice(0, 12)}…` : ""}</span></> : <span class="muted">—</span>],
          ["Device time", <Maybe value={s.deviceTime} />],
          ["Created / updated", <><Time value={s.createdAt} /> / <Time value={s.updatedAt} /></>],
        ]}
      />
      <h2>Calls to Spark</h2>
      {spark.length > 0 ? <Facts rows={spark} /> : <p class="muted">No call to Spark recorded for this session.</p>}
      <h2>OCPI</h2>
      <OcpiSection ocpi={s.ocpi} />
      <h2>Timeline</h2>
      {(s.events ?? []).length === 0 ? <p class="empty">No events yet.</p> : null}
      <ol class="timeline">
        {(s.events ?? []).map((event) => (
          <li>
            <div class="head">
              <strong>#{event.data?.sequence ?? "—"}</strong>
              <span>{event.type}</span>
              <Time value={event.timestamp} />
              <a class="mono" href={`/portal/events/${encodeURIComponent(event.id)}`}>
                {event.id}
              </a>
            </div>
            <EventDeliveries event={event} attempts={props.attempts.get(event.id) ?? null} endpoints={props.endpoints} csrf={props.frame.csrf} />
          </li>
        ))}
      </ol>
      <h2>As the API shows it</h2>
      <pre data-testid="session-json">{JSON.stringify(view, null, 2)}</pre>
    </Layout>
  );
}
