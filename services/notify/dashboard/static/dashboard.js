// Ops dashboard: plain JS, no build step. The ops token lives only in this closure (memory);
// the SSE stream authenticates with a short-lived ticket because EventSource cannot send headers.
"use strict";

(function () {
  const STATES = ["on_track", "warning", "breached", "paused"];
  const MAX_LIVE_ROWS = 50;
  const REFRESH_DEBOUNCE_MS = 250;
  const PERIODIC_REFRESH_MS = 30000;
  const RECONNECT_MS = 2000;

  let token = null;
  let source = null;
  let refreshTimer = null;
  let periodicTimer = null;

  const $ = (selector) => document.querySelector(selector);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    let s = Math.round(Math.abs(seconds));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m";
    return s + "s";
  }

  function setConnection(on, text) {
    const badge = $("#connection");
    badge.textContent = text;
    badge.className = "connection " + (on ? "on" : "off");
  }

  async function api(path, options) {
    const response = await fetch(path, Object.assign({}, options, {
      headers: { Authorization: "Bearer " + token, Accept: "application/json" },
    }));
    if (response.status === 401 || response.status === 403) {
      const problem = await response.json().catch(() => ({}));
      throw new AuthError(problem.detail || response.statusText);
    }
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return response.json();
  }

  class AuthError extends Error {}

  function caseCard(card) {
    const item = el("li", null, "card");
    item.dataset.caseId = card.case_id;
    const head = el("div");
    head.append(el("span", card.case_id, "case-id"));
    if (card.urgency) head.append(el("span", card.urgency, "badge " + card.urgency));
    if (card.waiting_for_records) head.append(el("span", "waiting for records", "badge"));
    item.append(head);
    item.append(el("div", card.teams.join(", ") || "no team yet", "teams"));
    let who = "unassigned";
    if (card.assignees.length) who = "assigned: " + card.assignees.join(", ");
    else if (card.offered_to.length) who = "offered to: " + card.offered_to.join(", ");
    item.append(el("div", who, "assignee"));
    const late = card.seconds_to_deadline !== null && card.seconds_to_deadline < 0;
    const due = card.seconds_to_deadline === null ? "no deadline yet"
      : late ? "late by " + duration(card.seconds_to_deadline)
      : "due in " + duration(card.seconds_to_deadline);
    item.append(el("div", due, "due" + (late ? " late" : "")));
    item.addEventListener("click", () => showTimeline(card.case_id));
    return item;
  }

  function fillTable(selector, rows) {
    const body = $(selector + " tbody");
    body.replaceChildren(...rows.map((cells) => {
      const row = el("tr");
      cells.forEach((cell) => row.append(el("td", cell)));
      return row;
    }));
  }

  function percent(value) {
    return value === null || value === undefined ? "–" : value + " %";
  }

  function render(snapshot) {
    $("#generated-at").textContent = "as of " + new Date(snapshot.generated_at).toLocaleString();
    $("#totals").replaceChildren(...Object.entries(snapshot.totals).map(
      ([name, count]) => el("span", name.replace("_", " ") + ": " + count)));
    for (const state of STATES) {
      const column = $("#col-" + state);
      const cards = snapshot.columns[state] || [];
      column.querySelector(".count").textContent = "(" + snapshot.column_counts[state] + ")";
      column.querySelector(".cards").replaceChildren(...cards.map(caseCard));
    }
    fillTable("#team-load", snapshot.team_load.map((t) => [
      t.team, t.open_cases, t.waiting, t.in_progress, duration(t.oldest_waiting_seconds)]));
    fillTable("#breaches", snapshot.recent_breaches.map((b) => [
      b.case_id, b.team || "–", b.clock, b.urgency,
      duration(b.late_by_seconds) + (b.still_open ? " (open)" : "")]));
    const attainment = [];
    for (const [key, value] of Object.entries(snapshot.attainment_by_urgency)) {
      attainment.push(["urgency " + key, percent(value)]);
    }
    for (const [key, value] of Object.entries(snapshot.attainment_by_team)) {
      attainment.push(["team " + key, percent(value)]);
    }
    fillTable("#attainment", attainment);
    const stages = Object.entries(snapshot.stage_durations).map(([name, p]) => [
      name, p.count, duration(p.p50_seconds), duration(p.p90_seconds)]);
    const acceptance = snapshot.acceptance_times;
    stages.push(["offer → accept", acceptance.count, duration(acceptance.p50_seconds),
      duration(acceptance.p90_seconds)]);
    fillTable("#stages", stages);
    const o = snapshot.offer_outcomes;
    $("#offers").textContent = "Offers: " + o.offered + " made, " + o.accepted + " accepted, " +
      o.declined + " declined, " + o.expired + " expired; acceptance rate " +
      percent(o.acceptance_rate_percent);
  }

  async function refresh() {
    refreshTimer = null;
    try {
      render(await api("/api/ops/summary"));
    } catch (error) {
      handleError(error);
    }
  }

  function scheduleRefresh() {
    if (refreshTimer === null) refreshTimer = setTimeout(refresh, REFRESH_DEBOUNCE_MS);
  }

  function addLiveRow(message) {
    const list = $("#live-events");
    const when = new Date(message.occurred_at).toLocaleTimeString();
    const row = el("li", when + "  " + message.case_id + "  " + message.event_type +
      (message.urgency ? "  [" + message.urgency + "]" : ""), "fresh");
    row.dataset.caseId = message.case_id;
    row.dataset.eventType = message.event_type;
    list.prepend(row);
    setTimeout(() => row.classList.remove("fresh"), 3000);
    while (list.children.length > MAX_LIVE_ROWS) list.lastElementChild.remove();
  }

  async function connectStream() {
    if (source) source.close();
    source = null;
    let ticket;
    try {
      ticket = (await api("/api/ops/stream-ticket", { method: "POST" })).ticket;
    } catch (error) {
      handleError(error);
      return;
    }
    source = new EventSource("/api/ops/stream?ticket=" + encodeURIComponent(ticket));
    source.addEventListener("open", () => setConnection(true, "live"));
    source.addEventListener("case_event", (event) => {
      addLiveRow(JSON.parse(event.data));
      scheduleRefresh();
    });
    source.addEventListener("gap", scheduleRefresh);
    source.addEventListener("error", () => {
      setConnection(false, "reconnecting");
      // A closed source will not retry by itself (e.g. the ticket expired): get a new ticket.
      if (source && source.readyState === EventSource.CLOSED && token) {
        setTimeout(connectStream, RECONNECT_MS);
      }
    });
  }

  function describeChanges(changes) {
    return Object.entries(changes).map(([key, value]) =>
      key + "=" + (Array.isArray(value) ? value.join(",") : value)).join("; ");
  }

  async function showTimeline(caseId) {
    try {
      const timeline = await api("/api/ops/cases/" + encodeURIComponent(caseId) + "/timeline");
      $("#timeline-case").textContent = caseId + " (" + timeline.status + ")";
      $("#timeline").replaceChildren(...timeline.entries.map((entry) => el("li",
        new Date(entry.at).toLocaleString() + "  " + entry.event_type + "  by " +
        entry.actor_kind + " " + entry.actor + "  " + describeChanges(entry.changes))));
      $("#timeline-panel").hidden = false;
    } catch (error) {
      handleError(error);
    }
  }

  function handleError(error) {
    if (error instanceof AuthError) {
      disconnect();
      const message = $("#login-error");
      message.textContent = "Not allowed: " + error.message;
      message.hidden = false;
    } else {
      setConnection(false, "error: " + error.message);
    }
  }

  function disconnect() {
    token = null;
    if (source) source.close();
    source = null;
    clearInterval(periodicTimer);
    $("#board").hidden = true;
    $("#login").hidden = false;
    setConnection(false, "not connected");
  }

  async function connect(newToken) {
    token = newToken;
    $("#login-error").hidden = true;
    try {
      render(await api("/api/ops/summary"));
    } catch (error) {
      handleError(error);
      return;
    }
    $("#login").hidden = true;
    $("#board").hidden = false;
    periodicTimer = setInterval(scheduleRefresh, PERIODIC_REFRESH_MS);
    await connectStream();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#login").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("#token");
      const value = input.value.trim();
      input.value = "";
      if (value) connect(value);
    });
  });
})();
