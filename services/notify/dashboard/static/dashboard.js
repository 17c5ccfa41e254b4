// Ops dashboard: plain JS, no build step. Sign-in trades the pasted token for an httpOnly
// session cookie (the page never keeps the token); the SSE stream authenticates with a
// short-lived ticket. The view (filters, sort) lives in the URL so it can be shared.
"use strict";

(function () {
  const STATES = ["on_track", "warning", "breached", "paused"];
  const FILTERS = ["team", "urgency", "status", "sla", "referrer", "q"];  // sent to the server
  const MAX_LIVE_ROWS = 50;
  const REFRESH_DEBOUNCE_MS = 250;
  const PERIODIC_REFRESH_MS = 30000;
  const RECONNECT_MS = 2000;  // the first wait after a stream fails; doubled per failure...
  const RECONNECT_MAX_MS = 60000;  // ...up to this, so a refused or broken stream is not hammered
  const ANNOUNCE_EVERY_MS = 3000;  // a screen reader hears at most one summary this often

  let source = null;
  let reconnectTimer = null;
  let reconnectFailures = 0;  // streams failed since the last one opened
  let connectAttempt = 0;  // only the latest connectStream() may open a stream
  let refreshTimer = null;
  let periodicTimer = null;
  let opener = null;  // the card button that opened the drawer: focus returns to it
  let pendingAnnouncements = [];
  let announceTimer = null;

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

  function shortId(id) { return String(id).slice(0, 8); }

  function words(name) { return name ? String(name).replace(/_/g, " ") : "–"; }  // may wrap

  function setConnection(on, text) {
    const badge = $("#connection");
    badge.textContent = text;
    badge.className = "connection " + (on ? "on" : "off");
  }

  class AuthError extends Error {}

  // 429: too many requests or too many live streams; the server says how long to wait.
  class BusyError extends Error {
    constructor(message, retryAfterSeconds) {
      super(message);
      this.retryAfterMs = (Number(retryAfterSeconds) || 0) * 1000;
    }
  }

  async function api(path, options) {
    const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options,
      { headers: Object.assign({ Accept: "application/json" }, (options || {}).headers) }));
    if (response.status === 401 || response.status === 403) {
      const problem = await response.json().catch(() => ({}));
      throw new AuthError(problem.detail || response.statusText);
    }
    if (response.status === 429) {
      const problem = await response.json().catch(() => ({}));
      throw new BusyError(problem.detail || response.statusText,
        response.headers.get("Retry-After"));
    }
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return response.status === 204 ? null : response.json();
  }

  // ---- the view in the URL -------------------------------------------------------------
  function viewFromUrl() {
    const params = new URLSearchParams(location.search);
    const form = $("#filters");
    for (const name of FILTERS.concat(["sort"])) {
      const field = form.elements[name];
      const value = params.get(name) || "";
      if (field.tagName === "SELECT" && value && !Array.from(field.options).some(
        (o) => o.value === value)) field.append(new Option(value, value));
      field.value = value || (name === "sort" ? "deadline" : "");
    }
  }

  function viewParams(all) {
    const form = $("#filters");
    const params = new URLSearchParams();
    for (const name of all ? FILTERS.concat(["sort"]) : FILTERS) {
      const value = form.elements[name].value.trim();
      if (value && !(name === "sort" && value === "deadline")) params.set(name, value);
    }
    return params;
  }

  function saveViewToUrl() {
    const query = viewParams(true).toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }

  function fillOptions(name, values) {
    const select = $("#filters").elements[name];
    const current = select.value;
    const first = select.options[0];
    select.replaceChildren(first, ...values.map((v) => new Option(v.replace(/_/g, " "), v)));
    if (current && !values.includes(current)) select.append(new Option(current, current));
    select.value = current;
  }

  // ---- rendering -----------------------------------------------------------------------
  function dueText(card) {
    if (card.seconds_to_deadline === null) return "no running clock";
    const clock = card.deadline_clock ? card.deadline_clock + " " : "";
    const at = new Date(card.deadline).toLocaleString();
    return card.seconds_to_deadline < 0
      ? clock + "late by " + duration(card.seconds_to_deadline) + " (due " + at + ")"
      : clock + "due in " + duration(card.seconds_to_deadline) + " (" + at + ")";
  }

  function caseCard(card) {
    const item = el("li", null, "card" + (card.at_risk ? " at-risk" : ""));
    item.dataset.caseId = card.case_id;
    const button = el("button", null, "open");
    button.type = "button";
    const head = el("div");
    const idSpan = el("span", card.short_id || shortId(card.case_id), "case-id");
    idSpan.title = card.case_id;
    head.append(idSpan);
    if (card.urgency) head.append(el("span", card.urgency, "badge " + card.urgency));
    if (card.at_risk) head.append(el("span", "at risk", "badge at-risk"));
    if (card.waiting_for_records) head.append(el("span", "waiting for records", "badge"));
    button.append(head);
    button.append(el("div", card.teams.map(words).join(", ") || "no team yet", "teams"));
    let who = "unassigned";
    if (card.assignees.length) who = "assigned: " + card.assignees.join(", ");
    else if (card.offered_to.length) who = "offered to: " + card.offered_to.join(", ");
    button.append(el("div", who, "assignee"));
    const late = card.seconds_to_deadline !== null && card.seconds_to_deadline < 0;
    button.append(el("div", dueText(card), "due" + (late ? " late" : "")));
    if (card.at_risk) button.append(el("div", "at risk: " + card.risk_detail, "risk"));
    button.setAttribute("aria-label", "Case " + (card.short_id || shortId(card.case_id)) + ", " +
      (card.urgency || "urgency unknown") + (card.at_risk ? ", at risk" : "") + ", " +
      dueText(card) + ". Open timeline");
    button.addEventListener("click", () => showTimeline(card, button));
    item.append(button);
    return item;
  }

  function fillTable(selector, rows) {
    const body = $(selector + " tbody");
    body.replaceChildren(...rows.map((cells) => {
      const row = el("tr");
      cells.forEach((cell) => {
        const td = el("td", typeof cell === "object" && cell ? cell.text : cell);
        if (cell && cell.title) td.title = cell.title;
        row.append(td);
      });
      return row;
    }));
  }

  function idCell(id) { return { text: shortId(id), title: id }; }

  function percent(value) {
    return value === null || value === undefined ? "–" : value + " %";
  }

  function sortCards(cards) {
    if ($("#filters").elements.sort.value !== "risk") return cards;
    return cards.slice().sort((a, b) => (b.at_risk - a.at_risk) ||
      ((a.seconds_to_deadline ?? Infinity) - (b.seconds_to_deadline ?? Infinity)));
  }

  function render(snapshot) {
    $("#generated-at").textContent = "as of " + new Date(snapshot.generated_at).toLocaleString();
    const totals = Object.entries(snapshot.totals).map(
      ([name, count]) => el("span", name.replace("_", " ") + ": " + count));
    totals.push(el("span", "at risk: " + snapshot.at_risk_count, "risk"));
    $("#totals").replaceChildren(...totals);
    fillOptions("team", snapshot.facets.teams);
    fillOptions("urgency", snapshot.facets.urgencies);
    fillOptions("referrer", snapshot.facets.referrers);
    for (const state of STATES) {
      const column = $("#col-" + state);
      const cards = sortCards(snapshot.columns[state] || []);
      column.querySelector(".count").textContent = "(" + snapshot.column_counts[state] + ")";
      column.querySelector(".cards").replaceChildren(...cards.map(caseCard));
    }
    fillTable("#emergencies", snapshot.emergencies.map((e) => [
      idCell(e.case_id), e.state, e.paged_to.join(", ") || "–",
      duration(e.seconds_since_triage)]));
    fillTable("#stalled", snapshot.stalled.map((s) => [
      idCell(s.case_id), words(s.stage), words(s.urgency),
      duration(s.waiting_seconds)]));
    fillTable("#team-load", snapshot.team_load.map((t) => [
      words(t.team), t.open_cases, t.waiting, t.in_progress, duration(t.oldest_waiting_seconds)]));
    fillTable("#breaches", snapshot.recent_breaches.map((b) => [
      idCell(b.case_id), words(b.team), b.clock, words(b.urgency),
      duration(b.late_by_seconds) + (b.still_open ? " (open)" : "")]));
    const attainment = [];
    for (const [key, value] of Object.entries(snapshot.attainment_by_urgency)) {
      attainment.push(["urgency " + key, percent(value)]);
    }
    for (const [key, value] of Object.entries(snapshot.attainment_by_team)) {
      attainment.push(["team " + words(key), percent(value)]);
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

  async function refreshTrends() {
    if (!window.SpineTrends) return;
    try {
      const query = viewParams(false).toString();
      window.SpineTrends.render(await api("/api/ops/trends" + (query ? "?" + query : "")));
    } catch (error) {
      handleError(error);
    }
  }

  async function refresh() {
    refreshTimer = null;
    try {
      const query = viewParams(false).toString();
      render(await api("/api/ops/summary" + (query ? "?" + query : "")));
    } catch (error) {
      handleError(error);
    }
  }

  function scheduleRefresh() {
    if (refreshTimer === null) refreshTimer = setTimeout(refresh, REFRESH_DEBOUNCE_MS);
  }

  // ---- live events and their announcements ---------------------------------------------
  function announce(text) {
    pendingAnnouncements.push(text);
    if (announceTimer !== null) return;
    const flush = () => {
      announceTimer = null;
      if (!pendingAnnouncements.length) return;
      const items = pendingAnnouncements;
      pendingAnnouncements = [];
      $("#announcer").textContent = items.length === 1 ? items[0]
        : items.length + " new events; latest: " + items[items.length - 1];
      announceTimer = setTimeout(flush, ANNOUNCE_EVERY_MS);
    };
    flush();
  }

  function addLiveRow(message) {
    const list = $("#live-events");
    const when = new Date(message.occurred_at).toLocaleTimeString();
    const row = el("li", when + "  " + shortId(message.case_id) + "  " + message.event_type +
      (message.urgency ? "  [" + message.urgency + "]" : ""), "fresh");
    row.title = message.case_id;
    row.dataset.caseId = message.case_id;
    row.dataset.eventType = message.event_type;
    list.prepend(row);
    setTimeout(() => row.classList.remove("fresh"), 3000);
    while (list.children.length > MAX_LIVE_ROWS) list.lastElementChild.remove();
    announce(message.event_type + " for case " + shortId(message.case_id) +
      (message.urgency ? ", " + message.urgency : ""));
  }

  // One pending reconnect at most. The wait doubles with each failure (with jitter, so pages
  // refused together do not all come back at once) and is never shorter than the server's
  // Retry-After. An EventSource cannot read the status of a refused stream (429, 401): it only
  // sees the connection fail, so every failure backs off the same way.
  function scheduleReconnect(atLeastMs) {
    if (reconnectTimer !== null || $("#board").hidden) return null;
    const ceiling = Math.min(RECONNECT_MAX_MS,
      RECONNECT_MS * 2 ** Math.min(reconnectFailures, 8));
    reconnectFailures += 1;
    const delay = Math.max(atLeastMs || 0, ceiling / 2 + Math.random() * ceiling / 2);
    reconnectTimer = setTimeout(() => { reconnectTimer = null; connectStream(); }, delay);
    return delay;
  }

  function retrying(text, delay) {
    setConnection(false, text + (delay === null ? "" : "; retrying in " +
      Math.ceil(delay / 1000) + " s"));
  }

  async function connectStream() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (source) source.close();
    source = null;
    const attempt = ++connectAttempt;
    let ticket;
    try {
      ticket = (await api("/api/ops/stream-ticket", { method: "POST" })).ticket;
    } catch (error) {
      if (attempt !== connectAttempt) return;
      if (error instanceof AuthError) {
        handleError(error);
        return;
      }
      const busy = error instanceof BusyError;
      retrying(busy ? "too many live connections" : "error: " + error.message,
        scheduleReconnect(busy ? error.retryAfterMs : 0));
      return;
    }
    // Another attempt started meanwhile, or the page signed out: a second open stream would
    // hold one of the few the server allows each person.
    if (attempt !== connectAttempt || $("#board").hidden) return;
    const stream = source = new EventSource("/api/ops/stream?ticket=" +
      encodeURIComponent(ticket));
    stream.addEventListener("open", () => {
      reconnectFailures = 0;
      setConnection(true, "live");
    });
    stream.addEventListener("case_event", (event) => {
      addLiveRow(JSON.parse(event.data));
      scheduleRefresh();
    });
    stream.addEventListener("gap", scheduleRefresh);
    stream.addEventListener("error", () => {
      if (stream !== source) return;  // a stream already replaced or closed by the page
      if (stream.readyState !== EventSource.CLOSED) {
        setConnection(false, "reconnecting");  // the browser retries a dropped stream itself
        return;
      }
      // A closed stream is not retried by the browser (the ticket expired, the stream was
      // refused): get a new ticket, after a wait.
      source = null;
      retrying("reconnecting", scheduleReconnect(0));
    });
  }

  // ---- the timeline drawer -------------------------------------------------------------
  function describeChanges(changes) {
    return Object.entries(changes).map(([key, value]) =>
      key + "=" + (Array.isArray(value) ? value.join(",") : value)).join("; ");
  }

  async function showTimeline(card, button) {
    opener = button;
    try {
      const timeline = await api("/api/ops/cases/" + encodeURIComponent(card.case_id) +
        "/timeline");
      $("#timeline-case").textContent = shortId(card.case_id) + " (" + timeline.status + ")";
      $("#timeline-case").title = card.case_id;
      const risk = $("#timeline-risk");
      risk.hidden = !card.at_risk;
      risk.textContent = card.at_risk ? "At risk: " + card.risk_detail : "";
      $("#timeline").replaceChildren(...timeline.entries.map((entry) => el("li",
        new Date(entry.at).toLocaleString() + "  " + entry.event_type + "  by " +
        entry.actor_kind + " " + entry.actor + "  " + describeChanges(entry.changes))));
      const dialog = $("#timeline-dialog");
      if (!dialog.open) dialog.showModal();  // modal: focus moves in, Escape closes it
      $("#timeline-close").focus();
    } catch (error) {
      handleError(error);
    }
  }

  function closedTimeline() {
    if (opener && document.contains(opener)) opener.focus();
    else {  // the board re-rendered meanwhile: find the same case's new button
      const again = opener && document.querySelector(
        '.card[data-case-id="' + CSS.escape(opener.closest(".card")?.dataset.caseId || "") +
        '"] button.open');
      (again || $("#board")).focus();
    }
    opener = null;
  }

  // ---- session -------------------------------------------------------------------------
  function handleError(error) {
    if (error instanceof AuthError) {
      showLogin("Not allowed: " + error.message);
    } else {
      setConnection(false, "error: " + error.message);
    }
  }

  function showLogin(message) {
    if (source) source.close();
    source = null;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    reconnectFailures = 0;
    connectAttempt += 1;  // a ticket still on its way opens nothing
    clearInterval(periodicTimer);
    $("#board").hidden = true;
    $("#sign-out").hidden = true;
    $("#signed-in").hidden = true;
    $("#login").hidden = false;
    setConnection(false, "not connected");
    const error = $("#login-error");
    error.hidden = !message;
    error.textContent = message || "";
    $("#token").focus();
  }

  async function openBoard(who) {
    $("#login").hidden = true;
    $("#login-error").hidden = true;
    $("#board").hidden = false;
    $("#signed-in").textContent = "signed in as " + who.subject;
    $("#signed-in").hidden = false;
    $("#sign-out").hidden = false;
    await refresh();
    refreshTrends();
    clearInterval(periodicTimer);
    periodicTimer = setInterval(() => { scheduleRefresh(); refreshTrends(); },
      PERIODIC_REFRESH_MS);
    await connectStream();
  }

  async function signIn(token) {
    try {
      await api("/api/ops/session", { method: "POST",
        headers: { Authorization: "Bearer " + token } });
      await openBoard(await api("/api/ops/session"));
    } catch (error) {
      if (error instanceof AuthError) showLogin("Not allowed: " + error.message);
      else showLogin("Sign-in failed: " + error.message);
    }
  }

  async function signOut() {
    try { await api("/api/ops/session", { method: "DELETE" }); } catch (error) { /* gone */ }
    showLogin("");
  }

  document.addEventListener("DOMContentLoaded", async () => {
    viewFromUrl();
    $("#login").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("#token");
      const value = input.value.trim();
      input.value = "";
      if (value) signIn(value);
    });
    $("#sign-out").addEventListener("click", signOut);
    const filters = $("#filters");
    filters.addEventListener("submit", (event) => event.preventDefault());
    filters.addEventListener("change", () => { saveViewToUrl(); refresh(); refreshTrends(); });
    filters.elements.q.addEventListener("input", () => { saveViewToUrl(); scheduleRefresh(); });
    filters.addEventListener("reset", () => setTimeout(() => {
      filters.elements.sort.value = "deadline"; saveViewToUrl(); refresh(); refreshTrends();
    }, 0));
    $("#timeline-close").addEventListener("click", () => $("#timeline-dialog").close());
    $("#timeline-dialog").addEventListener("close", closedTimeline);
    try {  // a session cookie from earlier in this browser session signs us straight in
      await openBoard(await api("/api/ops/session"));
    } catch (error) {
      showLogin("");
    }
  });
})();
