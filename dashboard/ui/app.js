// The dashboard's page: one WebSocket to the relay, which sends each target's changes
// (children whose state moved, new events); commands go back on it. No build step, no
// dependencies.
"use strict";

const KINDS = ["started", "phase_changed", "backing_off", "terminated", "restart_scope",
  "detached", "shutdown_requested", "shutdown_completed", "command", "escalated",
  "dead_lettered", "mailbox_drained"];
const EVENTS_KEPT = 5000;      // per target, in the page
const EVENTS_SHOWN = 500;      // in the log at once
const PER_CHILD = 200;         // events kept per child, for its timeline and exits
const TIMELINE_MS = 60000;
const COLLAPSE_ABOVE = 100;    // a supervisor with more children starts collapsed

const $ = (id) => document.getElementById(id);
const page = {
  socket: null, retry: 1000, control: false, authRequired: false,
  ids: [], current: null, targets: new Map(), selected: null, pending: null,
  inbox: [], flushing: false,
};

/** A mailbox's counts in words, as the shutdown report prints them. */
function mailboxText(m) {
  let text = `${m.name} (${m.delivery.replaceAll("_", " ")}): ${m.queued}/${m.capacity} queued, ${m.sent} sent, ${m.delivered} delivered`;
  if (m.delivery === "at_least_once") {
    text += ` (${m.redelivered} redelivered), ${m.acked} acked, ${m.rejected} rejected, ${m.in_doubt} in doubt`;
  }
  return `${text}, ${m.dead_lettered} dead-lettered`;
}

function targetState(id) {
  let t = page.targets.get(id);
  if (!t) {
    t = { header: null, tree: null, children: new Map(), rows: new Map(), events: [],
      perPath: new Map(), collapsed: new Set(), orderDirty: true, lastEventAt: 0 };
    page.targets.set(id, t);
  }
  return t;
}

// ---- connection ---------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws`);
  page.socket = socket;
  socket.onopen = () => { page.retry = 1000; page.targets.clear(); $("rows").textContent = ""; };
  // Messages are applied in batches, so that a burst costs one layout, not one per message.
  socket.onmessage = (e) => {
    page.inbox.push(JSON.parse(e.data));
    if (!page.flushing) { page.flushing = true; setTimeout(flush, 50); }
  };
  socket.onclose = () => {
    setBadge("health", "relay lost", "bad");
    setTimeout(connect, page.retry);
    page.retry = Math.min(page.retry * 2, 10000);
  };
}

function flush() {
  page.flushing = false;
  const batch = page.inbox;
  page.inbox = [];
  for (const m of batch) receive(m);
}

function send(message) {
  if (page.socket && page.socket.readyState === WebSocket.OPEN) {
    page.socket.send(JSON.stringify(message));
  }
}

function receive(m) {
  switch (m.type) {
    case "welcome":
      page.control = m.control;
      page.authRequired = m.auth_required;
      setBadge("mode", m.control ? "control" : "read-only", m.control ? "warn" : "");
      if (m.auth_required) {
        const token = sessionStorage.getItem("token");
        if (token) send({ type: "auth", token }); else $("auth").hidden = false;
      }
      break;
    case "authenticated": $("auth").hidden = true; break;
    case "auth_failed":
      sessionStorage.removeItem("token");
      $("auth").hidden = false; $("auth-error").hidden = false;
      break;
    case "targets": onTargets(m.targets); break;
    case "target": onTarget(m); break;
    case "tree": onTree(m); break;
    case "events": onEvents(m); break;
    case "command_result": onCommandResult(m.result); break;
    case "error": toast(m.error); break;
  }
}

// ---- targets and header ---------------------------------------------------------------

function onTargets(ids) {
  page.ids = ids;
  if (!ids.includes(page.current)) page.current = ids[0] || null;
  const nav = $("targets");
  nav.textContent = "";
  for (const id of ids) {
    const button = document.createElement("button");
    button.textContent = id.split("/").pop();
    button.title = id;
    button.dataset.target = id;
    button.className = id === page.current ? "current" : "";
    const header = page.targets.get(id)?.header;
    if (header && !header.connected) button.classList.add("down");
    button.onclick = () => { page.current = id; page.selected = null; redrawAll(); onTargets(page.ids); };
    nav.appendChild(button);
  }
}

function onTarget(m) {
  const t = targetState(m.target);
  if (m.reset) {
    t.children.clear(); t.events = []; t.perPath.clear(); t.tree = null;
    for (const row of t.rows.values()) row.remove();
    t.rows.clear();
  }
  t.header = m;
  if (m.target === page.current) drawHeader();
  onTargets(page.ids);
}

function drawHeader() {
  const t = page.targets.get(page.current);
  if (!t || !t.header) return;
  const h = t.header, tree = t.tree;
  const process = h.process ? `${h.process.tree} · pid ${h.process.pid} · v${h.process.version}` : "";
  $("process").textContent = process;
  $("connection").textContent = h.connected ? `connected (${h.connections}×)`
    : `not connected: ${h.last_error || "connecting"}`;
  if (h.report) setBadge("health", "ended", "");
  else if (!h.connected) setBadge("health", "disconnected", "bad");
  else if (tree && tree.shutting_down) setBadge("health", "shutting down", "warn");
  else if (tree && tree.healthy) setBadge("health", tree.ready ? "healthy" : "healthy, not ready", "ok");
  else if (tree) setBadge("health", "unhealthy", "bad");
  $("intensity").textContent = tree && tree.intensity ? `root budget ${budget(tree.intensity)}` : "";
  const dropped = (h.missed || 0) + (h.evicted || 0);
  $("dropped").textContent = `${h.held} held · ${dropped} dropped` +
    (h.missed ? ` (${h.missed} not in the journal)` : "");
  drawReport(h.report);
}

function drawReport(report) {
  const box = $("report");
  box.hidden = !report;
  if (!report) return;
  box.textContent = "";
  const title = document.createElement("strong");
  title.textContent = `The tree has ended: ${report.summary}`;
  const who = document.createElement("div");
  who.textContent = `requested by ${report.requested_by}: ${report.reason}` +
    (report.internal_error ? ` · internal error: ${report.internal_error}` : "");
  const list = document.createElement("div");
  list.className = "muted";
  list.textContent = report.children.map((c) => `${c.path} ${c.outcome}`).join(" · ");
  box.append(title, who, list);
}

function setBadge(id, text, kind) {
  const el = $(id);
  el.textContent = text;
  el.className = "badge " + (kind || "");
}

// ---- the tree -------------------------------------------------------------------------

function onTree(m) {
  const t = targetState(m.target);
  const now = performance.now();
  t.tree = m.tree;
  for (const entry of m.changed) {
    const known = t.children.has(entry.child.path);
    const old = t.children.get(entry.child.path);
    if (!known || old.index !== entry.index || old.parent !== entry.parent) t.orderDirty = true;
    t.children.set(entry.child.path, { ...entry, at: now });
    if (m.target === page.current) drawRow(t, entry.child.path);
  }
  if (m.changed.length) collapseLarge(t, m.changed);
  for (const path of m.removed) {
    t.children.delete(path);
    t.rows.get(path)?.remove();
    t.rows.delete(path);
  }
  if (m.target === page.current) {
    if (t.orderDirty) reorder(t);
    drawHeader();
    if (page.selected && m.changed.some((e) => e.child.path === page.selected)) drawInspector();
  }
}

// A supervisor seen for the first time with many children starts collapsed: its rows
// exist, hidden, and cost no layout until it is opened.
function collapseLarge(t, changed) {
  const counts = new Map();
  for (const e of changed) if (e.parent) counts.set(e.parent, (counts.get(e.parent) || 0) + 1);
  for (const [parent, n] of counts) {
    if (n > COLLAPSE_ABOVE && !t.seenLarge?.has(parent)) {
      (t.seenLarge ||= new Set()).add(parent);
      t.collapsed.add(parent);
      t.orderDirty = true;
      if (t.rows.has(parent)) drawRow(t, parent);
    }
  }
}

function redrawAll() {
  $("rows").textContent = "";
  const t = page.targets.get(page.current);
  if (!t) return;
  t.rows.clear();
  for (const path of t.children.keys()) drawRow(t, path);
  reorder(t);
  drawHeader();
  drawLog();
  drawInspector();
}

// Rows in depth-first order (a structural change only: a child added, removed or moved).
function reorder(t) {
  const kids = new Map();
  for (const [path, e] of t.children) {
    const key = e.parent || "";
    if (!kids.has(key)) kids.set(key, []);
    kids.get(key).push(e);
  }
  for (const list of kids.values()) list.sort((a, b) => a.index - b.index);
  const body = $("rows");
  const walk = (parent, depth, hidden) => {
    for (const e of kids.get(parent) || []) {
      const row = t.rows.get(e.child.path);
      if (row) {
        row.hidden = hidden;
        row.firstChild.style.paddingLeft = `${depth * 16}px`;
        body.appendChild(row);
      }
      walk(e.child.path, depth + 1, hidden || t.collapsed.has(e.child.path));
    }
  };
  walk("", 0, false);
  t.orderDirty = false;
}

const CELLS = ["name", "phase", "attempt", "restarts", "budget", "clock", "edges", "exit"];

function drawRow(t, path) {
  const e = t.children.get(path);
  const c = e.child;
  let row = t.rows.get(path);
  if (!row) {
    row = document.createElement("tr");
    row.className = "child";
    row.dataset.path = path;
    for (const name of CELLS) {
      const cell = document.createElement("td");
      cell.className = name;
      row.appendChild(cell);
    }
    row.onclick = (ev) => {
      if (ev.target.classList.contains("toggle")) {
        if (t.collapsed.has(path)) t.collapsed.delete(path); else t.collapsed.add(path);
        drawRow(t, path); reorder(t); return;
      }
      page.selected = path;
      for (const r of document.querySelectorAll("tr.selected")) r.classList.remove("selected");
      row.classList.add("selected");
      drawInspector();
    };
    t.rows.set(path, row);
    t.orderDirty = true;
  }
  const cells = row.children;
  cells[0].textContent = "";
  if (c.kind === "supervisor") {
    const toggle = document.createElement("span");
    toggle.className = "toggle";
    toggle.textContent = t.collapsed.has(path) ? "▸" : "▾";
    cells[0].appendChild(toggle);
  }
  cells[0].append(c.name);
  cells[0].title = c.path;
  cells[1].textContent = c.phase.replace("_", " ");
  cells[1].className = `phase ${c.phase}`;
  cells[2].textContent = c.attempt;
  cells[3].textContent = c.restarts;
  const budgets = [];
  if (c.intensity) budgets.push(`intensity ${budget(c.intensity)}`);
  if (c.backoff.breaker) {
    const b = c.backoff.breaker;
    budgets.push(`breaker ${b.failures}/${b.max_failures} in ${ms(b.window_ms)}`);
  }
  if (c.mailbox) budgets.push(`mailbox ${c.mailbox.name} ${c.mailbox.queued}/${c.mailbox.capacity}`);
  cells[4].textContent = budgets.join(" · ");
  drawClock(row, e);
  const edges = [];
  // `requires` implies `after`: shown once.
  const after = c.after.filter((name) => !c.requires.includes(name));
  if (after.length) edges.push(`after ${after.join(", ")}`);
  if (c.requires.length) edges.push(`requires ${c.requires.join(", ")}`);
  cells[6].textContent = edges.join(" · ");
  cells[7].textContent = c.last_exit || "";
  cells[7].title = c.last_exit || "";
  row.classList.toggle("selected", page.selected === path);
}

// The clock-driven cell: a restart's countdown, or a heartbeat's age (counted on from when
// the relay sent it, until it sends a fresh one).
function drawClock(row, e) {
  const c = e.child, since = performance.now() - e.at, cell = row.children[5];
  if (c.restart_in_ms != null) {
    cell.textContent = `restart in ${ms(Math.max(0, c.restart_in_ms - since))}`;
    cell.className = "clock";
  } else if (c.heartbeat_age_ms != null && c.phase === "running") {
    const age = c.heartbeat_age_ms + since;
    cell.textContent = `heartbeat ${ms(age)} ago`;
    cell.className = c.health === "stale" ? "clock stale" : "clock";
  } else {
    cell.textContent = c.health === "healthy" ? "" : c.health + (c.health_detail ? `: ${c.health_detail}` : "");
    cell.className = c.health === "healthy" ? "clock" : "clock stale";
  }
}

function tickClocks() {
  const t = page.targets.get(page.current);
  if (!t) return;
  for (const [path, e] of t.children) {
    const c = e.child;
    if (c.restart_in_ms != null || (c.heartbeat_age_ms != null && c.phase === "running")) {
      const row = t.rows.get(path);
      if (row && !row.hidden) drawClock(row, e);
    }
  }
}

function budget(i) { return `${i.restarts}/${i.max_restarts} in ${ms(i.within_ms)}`; }

function ms(value) {
  const v = Math.round(value);
  if (v < 1000) return `${v}ms`;
  if (v < 60000) return `${(v / 1000).toFixed(v < 10000 ? 1 : 0)}s`;
  if (v < 3600000) return `${Math.round(v / 60000)}m`;
  return `${Math.round(v / 3600000)}h`;
}

// ---- events ---------------------------------------------------------------------------

function onEvents(m) {
  const t = targetState(m.target);
  for (const ev of m.events) {
    t.events.push(ev);
    let list = t.perPath.get(ev.path);
    if (!list) { list = []; t.perPath.set(ev.path, list); }
    list.push(ev);
    if (list.length > PER_CHILD) list.splice(0, list.length - PER_CHILD);
    t.lastEventAt = ev.at_ms; t.lastEventSeen = performance.now();
  }
  if (t.events.length > EVENTS_KEPT) t.events.splice(0, t.events.length - EVENTS_KEPT);
  if (m.target !== page.current) return;
  // Newest first: nothing to scroll.
  const log = $("events"), audit = $("audit");
  const fresh = document.createDocumentFragment(), audited = document.createDocumentFragment();
  for (const ev of m.events) {
    if (matches(ev)) fresh.prepend(eventItem(ev));
    if (ev.kind === "command") audited.prepend(eventItem(ev));
  }
  log.prepend(fresh); audit.prepend(audited);
  trim(log); trim(audit);
  if (page.selected && m.events.some((ev) => ev.path === page.selected)) drawInspector();
}

function matches(ev) {
  const path = $("filter-path").value.trim(), kind = $("filter-kind").value;
  if (kind && ev.kind !== kind) return false;
  if (path && ev.path !== path && !ev.path.startsWith(path.replace(/\/$/, "") + "/")) return false;
  return true;
}

function eventItem(ev) {
  const li = document.createElement("li");
  li.dataset.kind = ev.kind;
  li.dataset.seq = ev.seq;
  const seq = document.createElement("span");
  seq.className = "seq";
  seq.textContent = `#${ev.seq} ${new Date(ev.wall_ms).toLocaleTimeString()}`;
  const path = document.createElement("span");
  path.className = "path";
  path.textContent = ev.path;
  li.append(seq, path, ev.text);
  return li;
}

function trim(list) {
  while (list.children.length > EVENTS_SHOWN) list.lastChild.remove();
}

function drawLog() {
  const t = page.targets.get(page.current);
  const log = $("events"), audit = $("audit");
  log.textContent = ""; audit.textContent = "";
  if (!t) return;
  const shown = t.events.filter(matches).slice(-EVENTS_SHOWN).reverse();
  log.append(...shown.map(eventItem));
  audit.append(...t.events.filter((ev) => ev.kind === "command").slice(-EVENTS_SHOWN).reverse().map(eventItem));
}

// ---- inspector ------------------------------------------------------------------------

function drawInspector() {
  const t = page.targets.get(page.current);
  const e = t && page.selected ? t.children.get(page.selected) : null;
  $("nothing-selected").hidden = !!e;
  $("selected").hidden = !e;
  if (!e) return;
  const c = e.child;
  $("sel-path").textContent = c.path;
  const spec = [
    ["kind", c.kind], ["phase", c.phase], ["attempt", c.attempt], ["restart", c.restart],
    ["backoff", `${ms(c.backoff.base_ms)} … ${ms(c.backoff.max_ms)}, ${c.backoff.jitter} jitter, cooldown ${ms(c.backoff.cooldown_ms)}`],
    ["breaker", c.backoff.breaker
      ? `${c.backoff.breaker.failures}/${c.backoff.breaker.max_failures} in ${ms(c.backoff.breaker.window_ms)}, then ${c.backoff.breaker.on_open}`
      : "none"],
    ["shutdown", c.shutdown || "the supervisor's"],
    ["heartbeat", c.heartbeat_timeout_ms != null ? `within ${ms(c.heartbeat_timeout_ms)}` : "none"],
    ["after", c.after.join(", ") || "–"], ["requires", c.requires.join(", ") || "–"],
    ["tags", c.tags.join(", ") || "–"],
    ["counters", `${c.restarts} restarts, ${c.failures} failures, ${c.breaker_trips} breaker trips, up ${ms(c.uptime_ms)}`],
    ["health", c.health + (c.health_detail ? ` (${c.health_detail})` : "")],
    ["last failure", c.last_failure || "–"],
  ];
  if (c.intensity) spec.splice(4, 0, ["intensity", budget(c.intensity)]);
  if (c.mailbox) spec.push(["mailbox", mailboxText(c.mailbox)]);
  const dl = $("spec");
  dl.textContent = "";
  for (const [k, v] of spec) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k; dd.textContent = String(v);
    dl.append(dt, dd);
  }
  const events = t.perPath.get(c.path) || [];
  const exits = $("exits");
  exits.textContent = "";
  const ends = events.filter((ev) => ev.kind === "backing_off" || ev.kind === "terminated").slice(-10).reverse();
  for (const ev of ends) exits.appendChild(eventItem(ev));
  if (!ends.length && c.last_exit) {
    const li = document.createElement("li");
    li.textContent = c.last_exit;
    exits.appendChild(li);
  }
  drawTimeline(t, events, c);
  drawControls(c);
}

// Runs, backoff gaps and stops over the last minute, from the child's phase changes; red
// marks for failures, black for its breaker opening or its supervisor giving up.
function drawTimeline(t, events, c) {
  const box = $("timeline");
  box.textContent = "";
  // The last minute, or the tree's life so far if shorter.
  const now = t.lastEventAt + (performance.now() - (t.lastEventSeen || performance.now()));
  const span = Math.min(TIMELINE_MS, Math.max(now, 1000));
  const start = now - span;
  const x = (at) => `${Math.max(0, ((at - start) / span) * 100)}%`;
  // "running -> backing off": the phases as the state spells them.
  const phases = (ev) => ev.text.split(" -> ").map((p) => p.trim().replace(/ /g, "_"));
  const changes = events.filter((ev) => ev.kind === "phase_changed");
  let phase = changes.length ? phases(changes[0])[0] : c.phase;
  let from = Math.max(start, 0);
  const segment = (until) => {
    if (until <= start) return;
    const div = document.createElement("div");
    const kind = phase === "running" ? "running" : phase === "backing_off" ? "backing_off"
      : phase === "starting" ? "starting" : "stopped";
    div.className = `seg ${kind}`;
    div.style.left = x(Math.max(from, start));
    div.style.width = `${((until - Math.max(from, start)) / span) * 100}%`;
    div.title = phase;
    box.appendChild(div);
  };
  for (const ev of changes) {
    segment(ev.at_ms);
    phase = phases(ev)[1] || phase;
    from = ev.at_ms;
  }
  segment(now);
  const marks = events.concat(t.perPath.get(c.path.split("/").slice(0, -1).join("/")) || []);
  for (const ev of marks) {
    if (ev.at_ms < start) continue;
    let kind = null;
    if (ev.path === c.path && ev.kind === "backing_off" && / after: /.test(ev.text)) kind = "failure";
    if (ev.path === c.path && ev.kind === "terminated" && /failed|panicked|timed out/.test(ev.text)) kind = "failure";
    if (ev.path === c.path && ev.kind === "terminated" && /circuit breaker/.test(ev.text)) kind = "breaker";
    if (ev.kind === "escalated") kind = "breaker";
    if (!kind) continue;
    const mark = document.createElement("div");
    mark.className = `mark ${kind}`;
    mark.style.left = x(ev.at_ms);
    mark.title = `${ev.path}: ${ev.text}`;
    box.appendChild(mark);
  }
}

const ACTIONS_BY_PHASE = {
  paused: ["resume", "quarantine", "remove"],
  quarantined: ["release", "remove"],
  terminated: ["restart", "remove"],
};

function drawControls(c) {
  const box = $("controls");
  box.textContent = "";
  if (!page.control) {
    box.textContent = "Read-only: start the dashboard with --control to allow commands.";
    box.className = "muted";
    return;
  }
  box.className = "";
  for (const action of ACTIONS_BY_PHASE[c.phase] || ["restart", "pause", "quarantine", "remove"]) {
    const button = document.createElement("button");
    button.textContent = action;
    button.dataset.action = action;
    button.onclick = () => ask(action, c.path);
    box.appendChild(button);
  }
}

// ---- commands -------------------------------------------------------------------------

function ask(action, path) {
  page.pending = { action, path, target: page.current };
  $("confirm-title").textContent = `${action} ${path}?`;
  $("confirm-reason").value = "";
  $("confirm").hidden = false;
  $("confirm-reason").focus();
}

function commandId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function onCommandResult(r) {
  if (r.ok) toast(`${r.receipt.path}: accepted (command ${r.receipt.tree_command_id}${r.repeated ? ", repeated" : ""})`);
  else toast(`refused: ${r.error}`);
}

let toastTimer = null;
function toast(text) {
  let el = $("toast");
  if (!el) { el = document.createElement("div"); el.id = "toast"; document.body.appendChild(el); }
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

// ---- wiring ---------------------------------------------------------------------------

window.addEventListener("DOMContentLoaded", () => {
  for (const kind of KINDS) {
    const option = document.createElement("option");
    option.value = option.textContent = kind;
    $("filter-kind").appendChild(option);
  }
  $("filter-path").oninput = drawLog;
  $("filter-kind").onchange = drawLog;
  $("operator").value = localStorage.getItem("operator") || "";
  $("operator").oninput = () => localStorage.setItem("operator", $("operator").value);
  $("auth-form").onsubmit = (ev) => {
    ev.preventDefault();
    const token = $("token").value;
    sessionStorage.setItem("token", token);
    $("auth-error").hidden = true;
    send({ type: "auth", token });
  };
  $("confirm-cancel").onclick = () => { $("confirm").hidden = true; page.pending = null; };
  $("confirm-form").onsubmit = (ev) => {
    ev.preventDefault();
    const p = page.pending;
    const reason = $("confirm-reason").value.trim();
    if (!p || !reason) return;
    send({ type: "command", target: p.target, path: p.path, action: p.action, reason,
      operator: $("operator").value, command_id: commandId() });
    $("confirm").hidden = true;
    page.pending = null;
  };
  setInterval(tickClocks, 500);
  connect();
});
