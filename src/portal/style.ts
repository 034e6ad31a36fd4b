/** The portal's one stylesheet, served at `/portal/assets/portal.css` (no inline styles, so the CSP can forbid them). */
export const PORTAL_CSS = `
:root { --fg: #1d2430; --muted: #5b6473; --line: #d9dee6; --bg: #f6f7f9; --accent: #0b5cad; --ok: #1a7f37; --bad: #b42318; --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #111827; color: #fff; padding: 0 24px; display: flex; align-items: center; gap: 24px; flex-wrap: wrap; }
header .brand { font-weight: 700; padding: 12px 0; }
header nav { display: flex; gap: 4px; flex: 1; flex-wrap: wrap; }
header nav a { color: #d1d5db; text-decoration: none; padding: 14px 10px; border-bottom: 3px solid transparent; }
header nav a.active, header nav a:hover { color: #fff; border-bottom-color: #60a5fa; }
header .who { color: #9ca3af; font-size: 12px; }
header form { margin: 0; }
header button { background: transparent; color: #d1d5db; border: 1px solid #4b5563; }
main { max-width: 1200px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 16px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
a { color: var(--accent); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow: auto; max-height: 480px; white-space: pre-wrap; word-break: break-all; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; font-size: 12px; color: var(--muted); }
tr:last-child td { border-bottom: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
form.filters, form.inline, .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; margin-bottom: 16px; }
form.filters { display: flex; gap: 12px; flex-wrap: wrap; align-items: end; }
form.inline { display: inline-block; padding: 0; border: 0; margin: 0 6px 6px 0; background: transparent; }
label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
label.check { flex-direction: row; align-items: center; gap: 6px; color: var(--fg); font-size: 13px; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid #b8c0cc; border-radius: 4px; min-width: 10em; background: #fff; }
input[type=checkbox] { min-width: 0; }
button { font: inherit; padding: 6px 12px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
.checks { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 8px 0; }
.notice { background: #e8f4ea; border: 1px solid #b7dfc0; color: #124d24; padding: 10px 12px; border-radius: 6px; }
.error { background: #fdecea; border: 1px solid #f4c1bc; color: #7a1a12; padding: 10px 12px; border-radius: 6px; }
.secret { background: #fff8e6; border: 1px solid #f1d58a; padding: 12px; border-radius: 6px; }
.secret code { font-size: 14px; user-select: all; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #eef1f5; color: var(--fg); white-space: nowrap; }
.badge.ok, .badge.delivered, .badge.settled, .badge.authorized, .badge.connected { background: #dcfce7; color: var(--ok); }
.badge.failed, .badge.declined, .badge.bad, .badge.timed_out, .badge.review_required { background: #fee2e2; color: var(--bad); }
.badge.pending, .badge.stop_requested, .badge.awaiting_card, .badge.invited { background: #fef3c7; color: var(--warn); }
.badge.skipped, .badge.cancelled, .badge.none { background: #e5e7eb; color: var(--muted); }
.muted { color: var(--muted); }
.pager { margin-top: 12px; }
.empty { padding: 18px; text-align: center; color: var(--muted); background: #fff; border: 1px dashed var(--line); border-radius: 6px; }
.login { max-width: 420px; margin: 60px auto; }
.login input { width: 100%; }
.timeline { list-style: none; padding: 0; margin: 0; }
.timeline > li { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-bottom: 10px; }
.timeline .head { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
.timeline table { margin-top: 8px; }
`;
