// Triage dashboard: fetches /v1/dashboard/data and draws every chart as inline SVG.
// No libraries. Every chart also carries a screen-reader table of the same numbers, and
// every mark has data-key / data-value attributes (used by the browser test).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["--c1", "--c2", "--c3", "--c4", "--c5", "--c6", "--c7", "--c8"];
const POLL_MS = Math.max(1000, Number(new URLSearchParams(location.search).get("poll")) || 5000);
const state = { timer: null, busy: false, colors: {} };

function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
function colorFor(key, i) {
  if (!(key in state.colors)) state.colors[key] = PALETTE[Object.keys(state.colors).length % PALETTE.length];
  return cssVar(state.colors[key]);
}
function usd(v) {
  v = Number(v) || 0;
  const a = Math.abs(v);
  const d = a === 0 ? 2 : a < 0.01 ? 5 : a < 1 ? 4 : 2;
  return "$" + v.toFixed(d);
}
function int(v) { return (Number(v) || 0).toLocaleString("en-US"); }
function ms(v) { return v == null ? "–" : v < 1000 ? Math.round(v) + " ms" : (v / 1000).toFixed(2) + " s"; }
function pct(v) { return (Number(v) || 0).toFixed(1) + "%"; }
function when(t, bucket) {
  const d = new Date(t * 1000);
  if (bucket === "5m" || bucket === "hour") return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString([], { month: "short", day: "numeric" });
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}
function sv(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}
function svgRoot(w, h, label) {
  return sv("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label, preserveAspectRatio: "xMinYMin meet" });
}
function srTable(caption, head, rows) {
  const wrap = el("div", { class: "sr-only" });
  const t = wrap.appendChild(el("table"));
  t.appendChild(el("caption", {}, caption));
  const tr = el("tr");
  head.forEach((h) => tr.appendChild(el("th", { scope: "col" }, h)));
  t.appendChild(el("thead")).appendChild(tr);
  const tb = t.appendChild(el("tbody"));
  rows.forEach((r) => { const row = el("tr"); r.forEach((c) => row.appendChild(el("td", {}, c))); tb.appendChild(row); });
  return wrap;
}
function plot(id) { const p = document.querySelector(`#${id} .plot`); p.replaceChildren(); return p; }
function empty(p, label) {
  const s = svgRoot(400, 60, label + ": no data");
  s.appendChild(sv("text", { x: 8, y: 34, class: "empty" }, "No requests in this range."));
  p.appendChild(s);
}
function legend(items) {
  const ul = el("ul", { class: "legend" });
  items.forEach(([name, color]) => {
    const li = el("li");
    li.appendChild(el("span", { class: "sw" })).style.background = color;
    li.appendChild(document.createTextNode(name));
    ul.appendChild(li);
  });
  return ul;
}

// Horizontal bars: rows [{key, value, text}], one bar per row.
function hbars(id, title, rows, fmt, colorOf) {
  const p = plot(id);
  if (!rows.length) return empty(p, title);
  const W = 460, row = 26, labelW = 150, valueW = 90, H = rows.length * row + 6;
  const max = Math.max(...rows.map((r) => r.value), 1e-12);
  const s = svgRoot(W, H, `${title}: ` + rows.map((r) => `${r.key} ${fmt(r.value)}`).join(", "));
  rows.forEach((r, i) => {
    const y = i * row + 3, w = Math.max(1, (W - labelW - valueW) * (r.value / max));
    s.appendChild(sv("text", { x: labelW - 6, y: y + 15, "text-anchor": "end", class: "lbl" }, trunc(r.key, 22)));
    const b = sv("rect", { x: labelW, y, width: w, height: row - 8, rx: 3, fill: colorOf(r, i), class: "mark bar", "data-key": r.key, "data-value": r.value });
    b.appendChild(sv("title", {}, `${r.key}: ${r.text || fmt(r.value)}`));
    s.appendChild(b);
    s.appendChild(sv("text", { x: labelW + w + 6, y: y + 15 }, r.text || fmt(r.value)));
  });
  p.appendChild(s);
  p.appendChild(srTable(title, ["", "value"], rows.map((r) => [r.key, r.text || fmt(r.value)])));
}
function trunc(s, n) { s = String(s == null ? "(none)" : s); return s.length > n ? s.slice(0, n - 1) + "…" : s; }

// Lines over time: series [{name, key, color}] over points [{t, ...}].
function lines(id, title, points, series, bucket, fmt) {
  const p = plot(id);
  if (!points.length) return empty(p, title);
  const W = 920, H = 240, L = 64, R = 12, T = 10, B = 28;
  const max = Math.max(...points.flatMap((pt) => series.map((se) => pt[se.key] || 0)), 1e-12);
  const x = (i) => L + (points.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const s = svgRoot(W, H, title);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    s.appendChild(sv("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "axis" }));
    s.appendChild(sv("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, fmt(v)));
  }
  const step = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((pt, i) => { if (i % step === 0) s.appendChild(sv("text", { x: x(i), y: H - 8, "text-anchor": "middle" }, when(pt.t, bucket))); });
  series.forEach((se) => {
    const d = points.map((pt, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(pt[se.key] || 0).toFixed(1)}`).join(" ");
    s.appendChild(sv("path", { d, fill: "none", stroke: se.color, "stroke-width": 2.5, "stroke-dasharray": se.dash || null, class: "series", "data-series": se.key }));
    points.forEach((pt, i) => {
      const c = sv("circle", { cx: x(i), cy: y(pt[se.key] || 0), r: 3.5, fill: se.color, class: "mark point", "data-series": se.key, "data-key": pt.t, "data-value": pt[se.key] || 0 });
      c.appendChild(sv("title", {}, `${when(pt.t, bucket)} ${se.name}: ${fmt(pt[se.key] || 0)}`));
      s.appendChild(c);
    });
  });
  p.appendChild(s);
  p.appendChild(legend(series.map((se) => [se.name, se.color])));
  p.appendChild(srTable(title, ["time", ...series.map((se) => se.name)], points.map((pt) => [new Date(pt.t * 1000).toLocaleString(), ...series.map((se) => fmt(pt[se.key] || 0))])));
}

// Stacked columns over time: series [{name, key, color}].
function columns(id, title, points, series, bucket) {
  const p = plot(id);
  if (!points.length) return empty(p, title);
  const W = 460, H = 200, L = 34, R = 6, T = 8, B = 26;
  const max = Math.max(...points.map((pt) => series.reduce((a, se) => a + (pt[se.key] || 0), 0)), 1);
  const bw = Math.max(2, Math.min(40, ((W - L - R) / points.length) * 0.7));
  const x = (i) => L + ((i + 0.5) * (W - L - R)) / points.length;
  const h = (v) => ((H - T - B) * v) / max;
  const s = svgRoot(W, H, title);
  s.appendChild(sv("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
  s.appendChild(sv("text", { x: L - 4, y: T + 8, "text-anchor": "end" }, int(max)));
  s.appendChild(sv("text", { x: L - 4, y: H - B, "text-anchor": "end" }, "0"));
  const step = Math.max(1, Math.ceil(points.length / 6));
  points.forEach((pt, i) => {
    let base = H - B;
    series.forEach((se) => {
      const v = pt[se.key] || 0;
      if (!v) return;
      const r = sv("rect", { x: x(i) - bw / 2, y: base - h(v), width: bw, height: h(v), fill: se.color, class: "mark col", "data-series": se.key, "data-key": pt.t, "data-value": v });
      r.appendChild(sv("title", {}, `${when(pt.t, bucket)} ${se.name}: ${v}`));
      s.appendChild(r);
      base -= h(v);
    });
    if (i % step === 0) s.appendChild(sv("text", { x: x(i), y: H - 8, "text-anchor": "middle" }, when(pt.t, bucket)));
  });
  p.appendChild(s);
  p.appendChild(legend(series.map((se) => [se.name, se.color])));
  p.appendChild(srTable(title, ["time", ...series.map((se) => se.name)], points.map((pt) => [new Date(pt.t * 1000).toLocaleString(), ...series.map((se) => String(pt[se.key] || 0))])));
}

// Donut of shares: rows [{key, value}].
function donut(id, title, rows) {
  const p = plot(id);
  const total = rows.reduce((a, r) => a + r.value, 0);
  if (!total) return empty(p, title);
  const W = 460, H = 200, cx = 100, cy = 100, R = 88, r0 = 52;
  const s = svgRoot(W, H, `${title}: ` + rows.map((r) => `${r.key} ${pct((100 * r.value) / total)}`).join(", "));
  let a = -Math.PI / 2;
  rows.forEach((r, i) => {
    const frac = r.value / total, a2 = a + frac * 2 * Math.PI, color = colorFor(r.key, i);
    const big = frac > 0.5 ? 1 : 0;
    const pt = (ang, rad) => `${(cx + rad * Math.cos(ang)).toFixed(2)},${(cy + rad * Math.sin(ang)).toFixed(2)}`;
    const d = frac >= 0.9999
      ? `M${cx - R},${cy} A${R},${R} 0 1 1 ${cx + R},${cy} A${R},${R} 0 1 1 ${cx - R},${cy} M${cx - r0},${cy} A${r0},${r0} 0 1 0 ${cx + r0},${cy} A${r0},${r0} 0 1 0 ${cx - r0},${cy}Z`
      : `M${pt(a, R)} A${R},${R} 0 ${big} 1 ${pt(a2, R)} L${pt(a2, r0)} A${r0},${r0} 0 ${big} 0 ${pt(a, r0)}Z`;
    const seg = sv("path", { d, fill: color, "fill-rule": "evenodd", class: "mark slice", "data-key": r.key, "data-value": r.value });
    seg.appendChild(sv("title", {}, `${r.key}: ${r.value} requests (${pct(100 * frac)})`));
    s.appendChild(seg);
    s.appendChild(sv("rect", { x: 215, y: 14 + i * 22, width: 11, height: 11, fill: color }));
    s.appendChild(sv("text", { x: 232, y: 24 + i * 22, class: "lbl" }, `${trunc(r.key, 20)} ${pct(100 * frac)}`));
    a = a2;
  });
  s.appendChild(sv("text", { x: cx, y: cy + 5, "text-anchor": "middle", class: "lbl" }, `${int(total)} req`));
  p.appendChild(s);
  p.appendChild(srTable(title, ["model", "requests", "share"], rows.map((r) => [r.key, String(r.value), pct((100 * r.value) / total)])));
}

// Grouped horizontal bars for latency: rows [{model, p50_ms, p90_ms, p99_ms}].
function latency(id, title, rows) {
  const p = plot(id);
  if (!rows.length) return empty(p, title);
  const keys = [["p50_ms", "p50", cssVar("--c1")], ["p90_ms", "p90", cssVar("--c4")], ["p99_ms", "p99", cssVar("--c2")]];
  const W = 460, labelW = 150, valueW = 70, bar = 9, group = keys.length * bar + 12, H = rows.length * group + 4;
  const max = Math.max(...rows.flatMap((r) => keys.map(([k]) => r[k] || 0)), 1e-9);
  const s = svgRoot(W, H, title);
  rows.forEach((r, i) => {
    const y0 = i * group + 4;
    s.appendChild(sv("text", { x: labelW - 6, y: y0 + 18, "text-anchor": "end", class: "lbl" }, trunc(r.model, 22)));
    keys.forEach(([k, name, color], j) => {
      const v = r[k] || 0, w = Math.max(1, ((W - labelW - valueW) * v) / max), y = y0 + j * bar;
      const b = sv("rect", { x: labelW, y, width: w, height: bar - 2, fill: color, class: "mark bar", "data-key": `${r.model}:${name}`, "data-value": v });
      b.appendChild(sv("title", {}, `${r.model} ${name}: ${ms(v)}`));
      s.appendChild(b);
      s.appendChild(sv("text", { x: labelW + w + 4, y: y + 7, class: "small" }, `${name} ${ms(v)}`));
    });
  });
  p.appendChild(s);
  p.appendChild(legend(keys.map(([, name, color]) => [name, color])));
  p.appendChild(srTable(title, ["model", "p50", "p90", "p99", "requests"], rows.map((r) => [r.model, ms(r.p50_ms), ms(r.p90_ms), ms(r.p99_ms), String(r.requests)])));
}

function kpis(t) {
  const items = [["Spent", usd(t.cost_usd), "spent"], ["Baseline would cost", usd(t.baseline_cost_usd), "base"], ["Saved", `${usd(t.saved_usd)} (${pct(t.savings_percent)})`, "save"],
    ["Requests", int(t.requests), "req"], ["Errors", int(t.errors), "err"], ["Fallbacks", int(t.fallbacks), "fb"],
    ["Tokens in / out", `${int(t.input_tokens)} / ${int(t.output_tokens)}`, "tok"]];
  const dl = document.getElementById("kpis");
  dl.replaceChildren(...items.map(([k, v, c]) => { const d = el("div", { class: c, "data-kpi": c }); d.append(el("dt", {}, k), el("dd", {}, v)); return d; }));
}

function recentTable(rows) {
  const tb = document.querySelector("#recent tbody");
  tb.replaceChildren(...rows.map((r) => {
    const tr = el("tr", { "data-request-id": r.request_id });
    const fb = r.attempts > 1 ? ` (after ${r.attempts - 1} fallback${r.attempts > 2 ? "s" : ""})` : "";
    const cells = [
      [new Date(r.ts * 1000).toLocaleString(), ""], [r.requested_model || "–", ""], [(r.answered_model || "–") + fb, ""], [r.task_type || "–", ""],
      [`${int(r.input_tokens)} / ${int(r.output_tokens)}`, "num"], [usd(r.cost_usd), "num"], [usd(r.saved_usd), "num"], [ms(r.latency_ms), "num"],
      [r.error_class ? `${r.status} ${r.error_class}` : String(r.status), r.status >= 400 ? "bad" : ""], [r.reason || "–", "why"],
    ];
    cells.forEach(([v, c]) => tr.appendChild(el("td", { class: c || null }, v)));
    return tr;
  }));
  if (!rows.length) tb.appendChild(el("tr")).appendChild(el("td", { colspan: 10 }, "No requests in this range."));
}

function fillSelect(id, values, current, allLabel) {
  const s = document.getElementById(id);
  const want = [""].concat(values);
  if (current && !want.includes(current)) want.push(current);
  const have = Array.from(s.options).map((o) => o.value);
  if (have.join("\u0000") !== want.join("\u0000")) {
    s.replaceChildren(...want.map((v) => el("option", { value: v }, v || allLabel)));
  }
  s.value = current || "";
}

function params() {
  const f = document.getElementById("filters");
  const q = new URLSearchParams();
  for (const name of ["range", "bucket", "model", "provider", "key"]) {
    const v = f.elements[name].value;
    if (v) q.set(name, v);
  }
  return q;
}

function render(d) {
  const f = d.filters;
  fillSelect("f-model", d.options.models, f.model, "All models");
  fillSelect("f-provider", d.options.providers, f.provider, "All providers");
  fillSelect("f-key", d.options.keys, f.key, "All keys");
  kpis(d.totals);
  document.getElementById("baseline").textContent = d.baseline.explanation;
  const spendSeries = [{ name: "Spent", key: "cost_usd", color: cssVar("--spend") }, { name: `Baseline (${d.baseline.model || "none"})`, key: "baseline_cost_usd", color: cssVar("--base"), dash: "6 4" },
    { name: "Saved", key: "saved_usd", color: cssVar("--save") }];
  lines("chart-spend-time", "Spend and savings over time", d.series, spendSeries, d.bucket, usd);
  hbars("chart-spend-model", "Spend by model", d.by_model.map((r) => ({ key: r.key || "(none)", value: r.cost_usd, text: `${usd(r.cost_usd)} · ${int(r.requests)} req` })), usd, (r, i) => colorFor(r.key, i));
  hbars("chart-spend-provider", "Spend by provider", d.by_provider.map((r) => ({ key: r.key || "(none)", value: r.cost_usd, text: `${usd(r.cost_usd)} · ${int(r.requests)} req` })), usd, () => cssVar("--c6"));
  const tasks = d.by_task.map((r) => ({ key: r.key || "(none)", value: r.requests })).sort((a, b) => b.value - a.value);
  const nTasks = tasks.reduce((a, r) => a + r.value, 0) || 1;
  hbars("chart-task-mix", "Task mix", tasks.map((r) => ({ ...r, text: `${int(r.value)} (${pct((100 * r.value) / nTasks)})` })), int, () => cssVar("--c5"));
  donut("chart-model-share", "Share of requests per model", d.by_model.map((r) => ({ key: r.key || "(none)", value: r.requests })).sort((a, b) => b.value - a.value));
  latency("chart-latency", "Latency percentiles by model", d.latency);
  columns("chart-errors-time", "Fallbacks and errors over time", d.series, [{ name: "Errors", key: "errors", color: cssVar("--err") }, { name: "Fallbacks", key: "fallbacks", color: cssVar("--c6") }], d.bucket);
  recentTable(d.recent);
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  const status = document.getElementById("status");
  const q = params();
  q.set("tz", String(-new Date().getTimezoneOffset()));
  try {
    const r = await fetch("/v1/dashboard/data?" + q.toString(), { credentials: "same-origin", headers: { accept: "application/json" } });
    if (r.status === 401) throw new Error("this gateway needs its API key (TRIAGE_API_KEY) to show the dashboard");
    const d = await r.json();
    if (!r.ok) throw new Error((d.error && d.error.message) || `HTTP ${r.status}`);
    render(d);
    document.body.dataset.loaded = String(d.generated_at);
    status.classList.remove("error");
    status.textContent = `Updated ${new Date().toLocaleTimeString()} · ${int(d.totals.requests)} requests in range`;
  } catch (e) {
    status.classList.add("error");
    status.textContent = "Could not load data: " + e.message;
  } finally {
    state.busy = false;
  }
}

function schedule() {
  clearInterval(state.timer);
  if (document.getElementById("f-live").checked) state.timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
}

function init() {
  const f = document.getElementById("filters");
  const url = new URLSearchParams(location.search);
  for (const name of ["range", "bucket"]) if (url.get(name)) f.elements[name].value = url.get(name);
  for (const name of ["model", "provider", "key"]) if (url.get(name)) fillSelect("f-" + name, [], url.get(name), "");
  f.addEventListener("change", (e) => {
    if (e.target.name === "live") return schedule();
    const q = params();
    const poll = new URLSearchParams(location.search).get("poll");
    if (poll) q.set("poll", poll);
    history.replaceState(null, "", "?" + q.toString());
    refresh();
  });
  f.addEventListener("submit", (e) => e.preventDefault());
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  refresh();
  schedule();
}

document.addEventListener("DOMContentLoaded", init);
