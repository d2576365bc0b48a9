/* Validator dashboard: a small static app over the service's JSON API (openapi.yaml).
 * The key lives in this tab's sessionStorage only: never in a URL, a cookie or a log line.
 * Every text from the API goes in through textContent (the h() helper), never as HTML. */
(function () {
  "use strict";
  var KEY = "validator.dashboard.key";
  var SVG = "http://www.w3.org/2000/svg";
  var view = document.getElementById("view");
  var timers = [];

  function h(tag, attrs) {
    var el = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (var name in attrs || {}) {
      if (name === "text") el.textContent = attrs[name];
      else if (name.indexOf("on") === 0) el.addEventListener(name.slice(2), attrs[name]);
      else if (attrs[name] != null) el.setAttribute(name, attrs[name]);
    }
    var children = Array.prototype.concat.apply([], Array.prototype.slice.call(arguments, 2));
    children.forEach(function (child) {
      if (child == null) return;
      el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    });
    return el;
  }

  function api(path, options) {
    options = options || {};
    var headers = { "Authorization": "Bearer " + sessionStorage.getItem(KEY) };
    return fetch(path, { method: options.method || "GET", headers: headers, cache: "no-store" }).then(function (response) {
      if (response.status === 401) { signOut("The key was refused (unknown or revoked)."); throw new Error("unauthorized"); }
      if (!response.ok) {
        return response.json().then(function (body) {
          var error = new Error(body.error ? body.error.message : response.statusText);
          error.status = response.status;
          throw error;
        });
      }
      if (options.blob) return response.blob();
      return response.status === 204 ? null : response.json();
    });
  }

  function failure(error) {
    var text = error.status === 403 ? "This key may not see this (" + error.message + ")." : "Could not load: " + error.message;
    return h("p", { "class": error.status === 403 ? "note" : "error", text: text });
  }

  function percent(value) { return value == null ? "no data" : value.toFixed(2) + "%"; }

  function levelBadge(rate) {
    var level = rate && rate.level;
    return h("span", { "class": "level level-" + (level || "none"), text: level || "no data" });
  }

  function rateCell(rate) {
    return h("td", { "class": "num" }, percent(rate.percent) + " ", levelBadge(rate),
      h("div", { "class": "note", text: rate.count + " of " + rate.denominator + " (" + rate.basis.replace(/_/g, " ") + ")" }));
  }

  function download(path, filename) {
    return api(path, { blob: true }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var link = h("a", { href: url, download: filename, hidden: "" });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  }

  // --- account health ---------------------------------------------------------------------

  function gauge(rate) {
    var bands = rate.bands || { warning: 2, critical: 5 };
    var top = Math.max(bands.critical * 1.6, (rate.percent || 0) * 1.1);
    var x = function (p) { return 10 + 580 * Math.min(p, top) / top; };
    var svg = h("svg:svg", { viewBox: "0 0 600 70", "class": "gauge", role: "img",
      "aria-label": "Total bounce rate " + percent(rate.percent) + ", unhealthy above " + bands.warning + "%, risky above " + bands.critical + "%" });
    svg.appendChild(h("svg:rect", { x: 10, y: 20, width: x(bands.warning) - 10, height: 18, fill: "#1b7f3b", opacity: .25 }));
    svg.appendChild(h("svg:rect", { x: x(bands.warning), y: 20, width: x(bands.critical) - x(bands.warning), height: 18, fill: "#9a6100", opacity: .25 }));
    svg.appendChild(h("svg:rect", { x: x(bands.critical), y: 20, width: 590 - x(bands.critical), height: 18, fill: "#b00020", opacity: .25 }));
    [bands.warning, bands.critical].forEach(function (p) {
      svg.appendChild(h("svg:line", { x1: x(p), x2: x(p), y1: 14, y2: 44, stroke: "#333", "stroke-dasharray": "3 2" }));
      svg.appendChild(h("svg:text", { x: x(p) - 8, y: 58, text: p + "%" }));
    });
    if (rate.percent != null) svg.appendChild(h("svg:rect", { x: x(rate.percent) - 2, y: 12, width: 4, height: 34, fill: "#111" }));
    svg.appendChild(h("svg:text", { x: 10, y: 10, text: "0%" }));
    return svg;
  }

  function showHealth() {
    return api("/v1/reports/bounce-rates").then(function (report) {
      var total = report.rates.total_bounce;
      view.appendChild(h("section", { "class": "card", id: "health-card" },
        h("h2", { text: "Account health" }),
        h("p", null, "Total bounce rate: ", h("strong", { id: "total-rate", text: percent(total.percent) }), " ", levelBadge(total)),
        gauge(total),
        h("p", { "class": "note", text: "Over " + (total.bands || {}).warning + "% is unhealthy, over " + (total.bands || {}).critical +
          "% is risky. " + total.count + " bounces of " + total.denominator + " (" + total.basis.replace(/_/g, " ") + ")." })));
    });
  }

  // --- campaigns ------------------------------------------------------------------------------

  function showCampaigns() {
    var table = h("table", { id: "campaigns-table" }, h("thead", null, h("tr", null,
      h("th", { text: "Campaign" }), h("th", { text: "Hard bounces" }), h("th", { text: "Chronic soft bounces" }),
      h("th", { text: "Complaints" }), h("th", { text: "Last event" }))));
    var body = h("tbody");
    table.appendChild(body);
    view.appendChild(h("section", { "class": "card" }, h("h2", { text: "Campaigns" }), table));
    return api("/v1/reports/campaigns").then(function (found) {
      if (!found.items.length) body.appendChild(h("tr", null, h("td", { colspan: 5, text: "No campaign events ingested yet." })));
      return Promise.all(found.items.map(function (c) {
        var row = h("tr", { "data-campaign": c.campaign_id });
        body.appendChild(row);
        return api("/v1/reports/bounce-rates?campaign_id=" + encodeURIComponent(c.campaign_id)).then(function (report) {
          row.appendChild(h("td", null, h("a", { href: "#campaign=" + encodeURIComponent(c.campaign_id), text: c.campaign_id })));
          row.appendChild(rateCell(report.rates.hard_bounce));
          row.appendChild(rateCell(report.rates.chronic_soft_bounce));
          row.appendChild(rateCell(report.rates.complaint));
          row.appendChild(h("td", { text: c.last_at.slice(0, 10) }));
        });
      }));
    });
  }

  function days(first, last) {
    var out = [], day = new Date(first.slice(0, 10) + "T00:00:00Z"), end = new Date(last.slice(0, 10) + "T00:00:00Z");
    while (day <= end) { out.push(new Date(day)); day.setUTCDate(day.getUTCDate() + 1); }
    return out.slice(-30);  // the last 30 days of the campaign
  }

  var SERIES = [["hard_bounce", "Hard", "#b00020"], ["chronic_soft_bounce", "Chronic soft", "#9a6100"], ["complaint", "Complaints", "#0b57d0"]];

  function chart(points) {
    var top = 1;
    points.forEach(function (p) { SERIES.forEach(function (s) { top = Math.max(top, p.rates[s[0]].percent || 0); }); });
    var x = function (i) { return 40 + (points.length > 1 ? 540 * i / (points.length - 1) : 270); };
    var y = function (v) { return 170 - 150 * v / top; };
    var svg = h("svg:svg", { viewBox: "0 0 600 200", "class": "chart", role: "img", "aria-describedby": "chart-table" });
    [0, top / 2, top].forEach(function (v) {
      svg.appendChild(h("svg:line", { x1: 40, x2: 580, y1: y(v), y2: y(v), stroke: "#d7dbe0" }));
      svg.appendChild(h("svg:text", { x: 2, y: y(v) + 4, text: v.toFixed(1) + "%" }));
    });
    SERIES.forEach(function (s) {
      var coords = points.map(function (p, i) { return x(i) + "," + y(p.rates[s[0]].percent || 0); }).join(" ");
      svg.appendChild(h("svg:polyline", { points: coords, fill: "none", stroke: s[2], "stroke-width": 2 }));
      points.forEach(function (p, i) {
        svg.appendChild(h("svg:circle", { cx: x(i), cy: y(p.rates[s[0]].percent || 0), r: 3, fill: s[2] },
          h("svg:title", { text: s[1] + " " + p.day + ": " + percent(p.rates[s[0]].percent) })));
      });
    });
    points.forEach(function (p, i) {
      if (i === 0 || i === points.length - 1 || points.length < 8) svg.appendChild(h("svg:text", { x: x(i) - 14, y: 192, text: p.day.slice(5) }));
    });
    return svg;
  }

  function chartTable(points) {
    var table = h("table", { id: "chart-table", "class": "visually-hidden" },
      h("caption", { text: "Daily rates" }),
      h("tr", null, h("th", { text: "Day" }), SERIES.map(function (s) { return h("th", { text: s[1] }); })));
    points.forEach(function (p) {
      table.appendChild(h("tr", null, h("td", { text: p.day }), h("td", { text: percent(p.rates.hard_bounce.percent) }),
        h("td", { text: percent(p.rates.chronic_soft_bounce.percent) }), h("td", { text: percent(p.rates.complaint.percent) })));
    });
    return table;
  }

  function showCampaign(id) {
    var q = "campaign_id=" + encodeURIComponent(id);
    var section = h("section", { "class": "card" }, h("h2", null, "Campaign ", h("code", { text: id })));
    view.appendChild(section);
    return Promise.all([api("/v1/reports/bounce-rates?" + q), api("/v1/reports/campaigns")]).then(function (got) {
      var report = got[0], summary = got[1].items.filter(function (c) { return c.campaign_id === id; })[0];
      section.appendChild(h("table", { id: "campaign-rates" },
        h("tr", null, h("th", { text: "Hard bounces" }), h("th", { text: "Chronic soft bounces" }), h("th", { text: "Complaints" })),
        h("tr", null, rateCell(report.rates.hard_bounce), rateCell(report.rates.chronic_soft_bounce), rateCell(report.rates.complaint))));
      if (!summary) return;
      var span = days(summary.first_at, summary.last_at);
      return Promise.all(span.map(function (day) {
        var next = new Date(day); next.setUTCDate(next.getUTCDate() + 1);
        return api("/v1/reports/bounce-rates?" + q + "&since=" + day.toISOString() + "&until=" + next.toISOString())
          .then(function (r) { return { day: day.toISOString().slice(0, 10), rates: r.rates }; });
      })).then(function (points) {
        var legend = h("div", { "class": "legend" });
        SERIES.forEach(function (s) {
          var swatch = h("span", { "class": "swatch" });
          swatch.style.background = s[2];  // CSSOM, which the page's style-src policy allows
          legend.appendChild(h("span", null, swatch, s[1]));
        });
        section.appendChild(h("h3", { text: "Rates per day" }));
        section.appendChild(legend);
        section.appendChild(chart(points));
        section.appendChild(chartTable(points));
      });
    }).then(function () { return showReasons(id, section); });
  }

  function showReasons(id, section, cursor) {
    var table = section.querySelector("#reasons-table");
    if (!table) {
      section.appendChild(h("h3", { text: "Bounce reasons" }));
      table = h("table", { id: "reasons-table" }, h("thead", null, h("tr", null, h("th", { text: "Address" }),
        h("th", { text: "Event" }), h("th", { text: "Category" }), h("th", { text: "Reason" }), h("th", { text: "SMTP reply" }),
        h("th", { text: "When" }))), h("tbody"));
      section.appendChild(table);
    }
    return api("/v1/events?campaign_id=" + encodeURIComponent(id) + "&limit=100" + (cursor ? "&cursor=" + cursor : "")).then(function (page) {
      var body = table.querySelector("tbody");
      page.items.forEach(function (e) {
        var reply = [e.reply_code, e.status, e.diagnostic].filter(function (p) { return p != null; }).join(" ");
        body.appendChild(h("tr", null, h("td", { text: e.address }), h("td", { text: e.event }), h("td", { text: e.category }),
          h("td", { text: e.reason || "-" }), h("td", { "class": "reply", text: reply || "-" }), h("td", { text: e.occurred_at.slice(0, 16).replace("T", " ") })));
      });
      var old = section.querySelector("#more-reasons");
      if (old) old.remove();
      if (page.next_cursor) section.appendChild(h("button", { type: "button", id: "more-reasons", text: "More",
        onclick: function () { showReasons(id, section, page.next_cursor); } }));
    });
  }

  // --- suppressions -------------------------------------------------------------------------

  var REASONS = ["hard_bounce", "chronic_soft_bounce", "complaint", "unsubscribe", "manual"];

  function suppressionQuery(form) {
    var params = [];
    if (form.reason.value) params.push("reason=" + encodeURIComponent(form.reason.value));
    if (form.source.value.trim()) params.push("source=" + encodeURIComponent(form.source.value.trim()));
    return params.join("&");
  }

  function entryPath(entry) {
    return entry.kind === "domain" ? "/v1/suppressions/domains/" + encodeURIComponent(entry.value)
      : "/v1/suppressions/" + encodeURIComponent(entry.value);
  }

  function showSuppressions() {
    var form = h("form", { "class": "toolbar", id: "suppression-filters" },
      h("label", null, "Search (address or domain)", h("input", { name: "search", type: "search", id: "search" })),
      h("label", null, "Reason", h("select", { name: "reason", id: "reason-filter" }, h("option", { value: "", text: "any" }),
        REASONS.map(function (r) { return h("option", { value: r, text: r.replace(/_/g, " ") }); }))),
      h("label", null, "Source", h("input", { name: "source", id: "source-filter", placeholder: "e.g. bounce:api" })),
      h("button", { type: "submit", text: "Apply" }),
      h("button", { type: "button", id: "export", text: "Export CSV" }));
    var table = h("table", { id: "suppressions-table" }, h("thead", null, h("tr", null, h("th", { text: "Address or domain" }),
      h("th", { text: "Reason" }), h("th", { text: "Source" }), h("th", { text: "Detail" }), h("th", { text: "Since" }))), h("tbody"));
    var detail = h("div", { id: "suppression-detail" });
    var section = h("section", { "class": "card" }, h("h2", { text: "Suppression list" }), form, table, detail);
    view.appendChild(section);

    function row(entry) {
      return h("tr", null, h("td", null, h("button", { type: "button", "class": "linklike", text: entry.value,
          onclick: function () { openEntry(entry, detail); } })),
        h("td", { text: entry.reason }), h("td", { text: entry.source }), h("td", { text: entry.detail || "-" }),
        h("td", { text: entry.created_at.slice(0, 10) }));
    }

    function load(cursor) {
      var body = table.querySelector("tbody");
      if (!cursor) body.textContent = "";
      var search = form.search.value.trim().toLowerCase();
      if (search) {  // an exact address or domain: the list is keyed by them
        var kind = search.indexOf("@") >= 0 ? "address" : "domain";
        return api(entryPath({ kind: kind, value: search })).then(function (entry) { body.appendChild(row(entry)); },
          function (error) { body.appendChild(h("tr", null, h("td", { colspan: 5, text: error.status === 404 ? search + " is not suppressed." : error.message }))); });
      }
      var q = suppressionQuery(form);
      return api("/v1/suppressions?limit=50" + (q ? "&" + q : "") + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "")).then(function (page) {
        page.items.forEach(function (entry) { body.appendChild(row(entry)); });
        if (!page.items.length && !cursor) body.appendChild(h("tr", null, h("td", { colspan: 5, text: "Nothing matches." })));
        var old = section.querySelector("#more-suppressions");
        if (old) old.remove();
        if (page.next_cursor) table.insertAdjacentElement("afterend", h("button", { type: "button", id: "more-suppressions", text: "More",
          onclick: function () { load(page.next_cursor); } }));
      });
    }

    form.addEventListener("submit", function (event) { event.preventDefault(); load().catch(showError); });
    form.querySelector("#export").addEventListener("click", function () {
      var q = suppressionQuery(form);
      download("/v1/suppressions?format=csv" + (q ? "&" + q : ""), "suppressions.csv").catch(showError);
    });
    return load();
  }

  function auditTable(rows) {
    var table = h("table", { id: "audit-table" }, h("caption", { text: "Audit trail" }),
      h("tr", null, h("th", { text: "When" }), h("th", { text: "Action" }), h("th", { text: "By" }), h("th", { text: "Why" })));
    rows.forEach(function (a) {
      table.appendChild(h("tr", null, h("td", { text: a.at.slice(0, 19).replace("T", " ") }), h("td", { text: a.action }),
        h("td", { text: a.actor }), h("td", { text: a.why || "-" })));
    });
    return table;
  }

  function openEntry(entry, detail) {
    return api(entryPath(entry)).then(function (full) {
      detail.textContent = "";
      var why = h("input", { id: "remove-why", placeholder: "why (kept in the audit trail)", "aria-label": "Why remove it" });
      var remove = h("button", { type: "button", id: "remove", text: "Remove from the list" });
      remove.addEventListener("click", function () {
        api(entryPath(full) + (why.value.trim() ? "?why=" + encodeURIComponent(why.value.trim()) : ""), { method: "DELETE" })
          .then(function (removed) {
            detail.textContent = "";
            detail.appendChild(h("h3", { text: removed.value + " removed" }));
            detail.appendChild(auditTable(removed.audit));
          }, showError);
      });
      detail.appendChild(h("h3", { text: full.value }));
      detail.appendChild(h("p", { text: full.reason + " from " + full.source + (full.detail ? ": " + full.detail : "") }));
      detail.appendChild(auditTable(full.audit));
      detail.appendChild(h("div", { "class": "toolbar" }, why, remove));
    }, showError);
  }

  // --- bulk jobs ------------------------------------------------------------------------------

  function eta(job) {
    if (job.status === "completed" || job.status === "failed" || job.status === "cancelled") return "-";
    return job.eta_seconds == null ? "estimating" : Math.round(job.eta_seconds) + " s";
  }

  function showJobs() {
    var table = h("table", { id: "jobs-table" }, h("thead", null, h("tr", null, h("th", { text: "Job" }), h("th", { text: "Status" }),
      h("th", { text: "Progress" }), h("th", { text: "Rate" }), h("th", { text: "ETA" }), h("th", { text: "Results" }))), h("tbody"));
    view.appendChild(h("section", { "class": "card" }, h("h2", { text: "Bulk jobs" }), table));
    function refresh() {
      return api("/v1/jobs?limit=50").then(function (page) {
        var body = table.querySelector("tbody");
        body.textContent = "";
        if (!page.items.length) body.appendChild(h("tr", null, h("td", { colspan: 6, text: "No jobs." })));
        var running = false;
        page.items.forEach(function (job) {
          var finished = job.status === "completed";
          running = running || job.status === "queued" || job.status === "running";
          var share = job.total ? Math.round(100 * job.processed / job.total) : 0;
          body.appendChild(h("tr", { "data-job": job.id }, h("td", null, h("code", { text: job.id.slice(0, 12) })),
            h("td", { text: job.status }),
            h("td", null, h("progress", { "class": "progress", max: job.total || 1, value: job.processed, "aria-label": "Job " + job.id.slice(0, 12) + " progress" }),
              " " + job.processed + " / " + job.total + " (" + share + "%)"),
            h("td", { text: job.rate_per_second == null ? "-" : job.rate_per_second + "/s" }),
            h("td", { text: eta(job) }),
            h("td", null, finished ? h("button", { type: "button", "class": "download", text: "Download CSV",
              onclick: function () { download(job.links.results + "?format=csv", job.id + ".csv").catch(showError); } }) : "-")));
        });
        if (running) timers.push(setTimeout(function () { refresh().catch(showError); }, 1000));
      });
    }
    return refresh();
  }

  // --- shell ----------------------------------------------------------------------------------

  function showError(error) { if (error.message !== "unauthorized") view.appendChild(failure(error)); }

  function route() {
    timers.forEach(clearTimeout);
    timers = [];
    view.textContent = "";
    if (!sessionStorage.getItem(KEY)) return;
    var hash = location.hash.slice(1) || "health";
    Array.prototype.forEach.call(document.querySelectorAll("nav a"), function (a) {
      if (a.getAttribute("href") === "#" + hash.split("=")[0]) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    var shown = hash.indexOf("campaign=") === 0 ? showCampaign(decodeURIComponent(hash.slice(9)))
      : hash === "campaigns" ? showCampaigns() : hash === "suppressions" ? showSuppressions()
      : hash === "jobs" ? showJobs() : showHealth();
    shown.then(function () { document.body.setAttribute("data-ready", hash); }, showError);
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    document.getElementById("nav").hidden = true;
    document.getElementById("login").hidden = false;
    document.getElementById("login-error").textContent = message || "";
    view.textContent = "";
  }

  document.getElementById("login").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = document.getElementById("key");
    sessionStorage.setItem(KEY, field.value.trim());
    field.value = "";
    start();
  });
  document.getElementById("forget").addEventListener("click", function () { signOut("The key was forgotten."); });
  window.addEventListener("hashchange", route);

  function start() {
    if (!sessionStorage.getItem(KEY)) return;
    document.getElementById("login").hidden = true;
    document.getElementById("nav").hidden = false;
    route();
  }
  start();
})();
