// compatkit panel: the live metrics page polls /panel/api/metrics every two seconds.
"use strict";

(function () {
  const POLL_MS = 2000;
  const SVG = "http://www.w3.org/2000/svg";

  function number(value, digits) {
    if (value === null || value === undefined) return "–";
    return Number(value).toFixed(digits === undefined ? 0 : digits);
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function header(row, text) {
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = text;
    row.appendChild(th);
  }

  function fillTotals(totals) {
    for (const dd of document.querySelectorAll("[data-total]")) {
      const key = dd.dataset.total;
      dd.textContent = number(totals[key], key === "requests_per_s" ? 2 : 0);
    }
  }

  function fillRoutes(routes) {
    const body = document.querySelector("#routes tbody");
    body.replaceChildren();
    for (const r of routes) {
      const row = document.createElement("tr");
      row.dataset.route = r.route;
      header(row, r.route);
      cell(row, number(r.requests)).dataset.requests = "";
      cell(row, number(r.errors));
      cell(row, Object.entries(r.statuses).map(([s, n]) => s + ": " + n).join(", "));
      cell(row, number(r.requests_per_s, 2));
      cell(row, [r.e2e_p50_ms, r.e2e_p95_ms, r.e2e_p99_ms].map((v) => number(v, 1)).join(" / ") +
        (r.e2e_over === "window" ? "" : " (since start)"));
      cell(row, [r.ttft_p50_ms, r.ttft_p95_ms].map((v) => number(v, 1)).join(" / "));
      body.appendChild(row);
    }
  }

  function fillCredentials(credentials, states) {
    const body = document.querySelector("#credential-metrics tbody");
    body.replaceChildren();
    const ids = new Set(Object.keys(states));
    for (const c of credentials) ids.add(c.credential);
    const byId = Object.fromEntries(credentials.map((c) => [c.credential, c]));
    for (const id of [...ids].sort()) {
      const c = byId[id] || {};
      const row = document.createElement("tr");
      row.dataset.credential = id;
      header(row, id);
      cell(row, (states[id] || "–").replace("_", " "));
      cell(row, number(c.attempts || 0));
      cell(row, number(c.errors || 0));
      cell(row, number(c.upstream_429 || 0));
      cell(row, number(c.upstream_capacity || 0));
      body.appendChild(row);
    }
  }

  function drawSeries(series) {
    const svg = document.getElementById("rate-chart");
    svg.replaceChildren();
    if (series.length < 2) return;
    const t0 = series[0][0], t1 = series[series.length - 1][0];
    const peak = Math.max(1, ...series.map((p) => p[1]));
    const points = series.map(([t, v]) =>
      ((t - t0) / Math.max(t1 - t0, 1) * 600).toFixed(1) + "," + (115 - v / peak * 95).toFixed(1));
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.appendChild(line);
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", "4");
    label.setAttribute("y", "11");
    label.textContent = "peak " + peak.toFixed(2) + "/s";
    svg.appendChild(label);
  }

  async function poll() {
    const status = document.getElementById("metrics-status");
    try {
      const response = await fetch("/panel/api/metrics", { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401) {
        status.textContent = "Your session ended: log in again.";
        return;
      }
      const doc = await response.json();
      fillTotals(doc.totals || {});
      fillRoutes(doc.routes || []);
      fillCredentials(doc.credentials || [], doc.credential_states || {});
      drawSeries(doc.series || []);
      status.textContent = "Updated " + new Date(doc.taken * 1000).toLocaleTimeString() + ".";
    } catch (error) {
      status.textContent = "Could not reach the proxy: " + error;
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", poll);
})();
