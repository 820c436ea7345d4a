// compatkit panel: the live metrics page polls /panel/api/metrics every two seconds and draws
// its four charts as inline SVG (no library, nothing fetched but that JSON).
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

  // One chart: `lines` is [[name, values]], values aligned with `times` (null: a gap).
  function drawChart(id, times, lines) {
    const figure = document.getElementById(id + "-figure");
    const unit = figure.dataset.unit;
    const svg = document.getElementById(id + "-chart");
    const legend = document.getElementById(id + "-legend");
    svg.replaceChildren();
    legend.replaceChildren();
    const values = lines.flatMap(([, v]) => v.filter((x) => x !== null));
    if (times.length < 2 || lines.length === 0) {
      const item = document.createElement("li");
      item.textContent = lines.length === 0 && times.length >= 2 ? "None in these minutes." : "No data yet.";
      legend.appendChild(item);
      return;
    }
    const t0 = times[0], t1 = times[times.length - 1];
    const peak = Math.max(unit === "/s" ? 1 : 10, ...values);
    const x = (t) => ((t - t0) / Math.max(t1 - t0, 1) * 600).toFixed(1);
    const y = (v) => (115 - v / peak * 95).toFixed(1);
    lines.forEach(([name, series], index) => {
      let points = [];
      const flush = () => {
        if (points.length === 1) points.push(points[0]);  // a lone point still shows
        if (points.length) {
          const line = document.createElementNS(SVG, "polyline");
          line.setAttribute("points", points.join(" "));
          line.setAttribute("class", "s" + (index % 6));
          line.dataset.series = name;
          svg.appendChild(line);
        }
        points = [];
      };
      series.forEach((v, i) => (v === null ? flush() : points.push(x(times[i]) + "," + y(v))));
      flush();
      const known = series.filter((v) => v !== null);
      const item = document.createElement("li");
      item.dataset.series = name;
      item.dataset.peak = String(Math.max(0, ...known));
      const swatch = document.createElement("span");
      swatch.className = "swatch s" + (index % 6);
      swatch.setAttribute("aria-hidden", "true");
      item.append(swatch, known.length === 0 ? name + ": none in these minutes" :
        name + ": now " + number(series[series.length - 1], 2) + unit +
        ", peak " + number(Math.max(...known), 2) + unit);
      legend.appendChild(item);
    });
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", "4");
    label.setAttribute("y", "11");
    label.textContent = "top " + peak.toFixed(peak < 10 ? 2 : 0) + unit;
    svg.appendChild(label);
  }

  function drawCharts(series) {
    const times = series.t || [];
    drawChart("rate", times, [["requests", series.requests_per_s || []]]);
    drawChart("ttft", times, [["p50", series.ttft_p50_ms || []], ["p95", series.ttft_p95_ms || []]]);
    drawChart("errors", times, Object.entries(series.errors_per_s || {}));
    drawChart("upstream", times, [["upstream 429", series.upstream_429_per_s || []],
      ["capacity errors", series.upstream_capacity_per_s || []]]);
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
      drawCharts(doc.series || {});
      status.textContent = "Updated " + new Date(doc.taken * 1000).toLocaleTimeString() + ".";
    } catch (error) {
      status.textContent = "Could not reach the proxy: " + error;
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", poll);
})();
