// Trend charts, drawn with the vendored Chart.js (no CDN). Every chart has a data table beside
// it (in a <details>), so the figures are available to screen readers and keyboard users; the
// canvas itself carries a one-line summary as its accessible name.
"use strict";

(function () {
  const PALETTE = ["#0b57d0", "#b71c1c", "#1b5e20", "#8a3c00", "#6a1b9a", "#00695c", "#455a64",
    "#ad1457", "#283593", "#4e342e"];
  const charts = {};

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function minutes(seconds) {
    return seconds === null || seconds === undefined ? null : Math.round(seconds / 6) / 10;
  }

  function show(value, unit) {
    return value === null || value === undefined ? "–" : value + (unit || "");
  }

  // One figure: heading, canvas and a table of the same numbers; created once, then updated.
  function figure(id, title) {
    let box = document.getElementById("trend-" + id);
    if (box) return box;
    box = el("figure", null, "trend");
    box.id = "trend-" + id;
    box.append(el("h3", title));
    const holder = el("div", null, "chart");
    const canvas = el("canvas");
    canvas.setAttribute("role", "img");
    holder.append(canvas);
    const details = el("details");
    details.append(el("summary", "Data table: " + title));
    const scroll = el("div", null, "scroll");
    scroll.tabIndex = 0;  // a keyboard user can scroll a wide table
    scroll.setAttribute("role", "region");
    scroll.setAttribute("aria-label", title + " table");
    const table = el("table");
    table.append(el("caption", title, "visually-hidden"));
    scroll.append(table);
    details.append(scroll);
    box.append(holder, details);
    document.getElementById("trend-charts").append(box);
    return box;
  }

  function fillTable(box, header, rows) {
    const table = box.querySelector("table");
    const caption = table.querySelector("caption");
    const head = el("thead");
    const tr = el("tr");
    header.forEach((h) => { const th = el("th", h); th.scope = "col"; tr.append(th); });
    head.append(tr);
    const body = el("tbody");
    rows.forEach((cells) => {
      const row = el("tr");
      cells.forEach((c, i) => {
        const cell = el(i === 0 ? "th" : "td", c);
        if (i === 0) cell.scope = "row";
        row.append(cell);
      });
      body.append(row);
    });
    table.replaceChildren(caption, head, body);
  }

  function draw(id, title, type, labels, series, yTitle, summary) {
    const box = figure(id, title);
    const canvas = box.querySelector("canvas");
    canvas.setAttribute("aria-label", title + ": " + summary + " (table below)");
    const datasets = Object.entries(series).map(([name, values], i) => ({
      label: name.replace(/_/g, " "), data: values, borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length], spanGaps: true, tension: 0.2,
    }));
    if (!window.Chart) return box;  // the table still carries the numbers
    if (charts[id]) {
      charts[id].data.labels = labels;
      charts[id].data.datasets = datasets;
      charts[id].update("none");
      return box;
    }
    charts[id] = new window.Chart(canvas, {
      type: type, data: { labels: labels, datasets: datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: { y: { beginAtZero: true, title: { display: true, text: yTitle } } } },
    });
    return box;
  }

  function render(trends) {
    const days = trends.attainment.days;
    const attainment = trends.attainment.percent;
    const atBox = draw("attainment", "SLA attainment per day (%)", "line", days, attainment,
      "% met in time", days.length + " days, " + Object.keys(attainment).length + " series");
    fillTable(atBox, ["Day"].concat(Object.keys(attainment)), days.map((d, i) =>
      [d].concat(Object.keys(attainment).map((k) => show(attainment[k][i], " %")))));

    const times = trends.queues.at.map((t) => new Date(t).toLocaleTimeString([], {
      hour: "2-digit", minute: "2-digit" }));
    const lengths = trends.queues.length;
    const qBox = draw("queue", "Queue length per team", "line", times, lengths, "steps waiting",
      "now " + Object.entries(lengths).map(([k, v]) => k + " " + v[v.length - 1]).join(", "));
    fillTable(qBox, ["Time"].concat(Object.keys(lengths)), times.map((t, i) =>
      [t].concat(Object.keys(lengths).map((k) => lengths[k][i]))));

    const oldest = {};
    for (const [team, values] of Object.entries(trends.queues.oldest_seconds)) {
      oldest[team] = values.map(minutes);
    }
    const oBox = draw("oldest", "Oldest waiting per team (minutes)", "line", times, oldest,
      "minutes", Object.keys(oldest).length + " teams over " + times.length + " samples");
    fillTable(oBox, ["Time"].concat(Object.keys(oldest)), times.map((t, i) =>
      [t].concat(Object.keys(oldest).map((k) => show(oldest[k][i], " min")))));

    const teams = trends.acceptance.map((r) => r.team.replace(/_/g, " "));
    const rate = { "acceptance rate": trends.acceptance.map((r) => r.acceptance_rate_percent) };
    const rBox = draw("acceptance-rate", "Acceptance rate per team (%)", "bar", teams, rate,
      "% of ended offers accepted", trends.acceptance.map((r) => r.team + " " +
        show(r.acceptance_rate_percent, "%")).join(", "));
    fillTable(rBox, ["Team", "Offers", "Accepted", "Declined", "Expired", "Rate"],
      trends.acceptance.map((r) => [r.team, r.offers, r.accepted, r.declined, r.expired,
        show(r.acceptance_rate_percent, " %")]));

    const speed = { p50: trends.acceptance.map((r) => minutes(r.p50_seconds)),
      p90: trends.acceptance.map((r) => minutes(r.p90_seconds)) };
    const sBox = draw("time-to-accept", "Time to accept per team (minutes)", "bar", teams, speed,
      "minutes from offer to acceptance", trends.acceptance.map((r) => r.team + " p50 " +
        show(minutes(r.p50_seconds), " min")).join(", "));
    fillTable(sBox, ["Team", "p50", "p90"], trends.acceptance.map((r) => [r.team,
      show(minutes(r.p50_seconds), " min"), show(minutes(r.p90_seconds), " min")]));
  }

  window.SpineTrends = { render: render };
})();
