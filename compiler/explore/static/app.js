// aalp explore: a thin client. Every number on this page comes from the server's API, which
// calls the same Python functions as `aalp check`, `aalp explain` and `aalp compile`.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  name: "spec.aalp",
  canSave: false,
  // the settings use the command line's names: defines (-D), pins (--pin), objective, task
  settings: { task: null, defines: {}, probabilities: {}, success_target: null, objective: null, pins: {} },
  fileText: "",
  fileTasks: null,
  detached: false,
  controls: null,
  controlsKey: "",
  result: null,
  frontierMetric: "cost",
  charts: {},
  seq: { check: 0, optimize: 0, sweep: 0, plan: 0 },
  edits: 0, // settings changes so far: the plan panel is busy until the last one is answered
  timers: {},
};

// ---------------------------------------------------------------------------------------------
// Talking to the server
// ---------------------------------------------------------------------------------------------

async function post(path, payload) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  if (response.headers.get("content-type")?.startsWith("application/json")) {
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  }
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response;
}

function payload(extra = {}) {
  return { text: $("spec").value, settings: state.settings, ...extra };
}

function setStatus(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

// An answer the server gave up on at its time limit (`aalp explore --timeout`): say so. It may
// carry the last answer the server has for the same spec text, found under other settings.
function tooSlow(result) {
  if (!result.too_slow) return false;
  setStatus(result.diagnostics[0].message, true);
  return true;
}

function later(name, ms, fn) {
  clearTimeout(state.timers[name]);
  state.timers[name] = setTimeout(fn, ms);
}

// Number formatting: short and exact enough to compare plans.
function fmt(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-3) return value.toExponential(3);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return value.toPrecision(6).replace(/\.?0+$/, "");
}

function fmtProbability(p) {
  if (p === null || p === undefined) return "–";
  if (p === 1) return "1";
  if (p > 0.999) return `1 − ${(1 - p).toExponential(2)}`;
  return p.toFixed(4);
}

// ---------------------------------------------------------------------------------------------
// The editor: line numbers, diagnostics inline, checks as you type
// ---------------------------------------------------------------------------------------------

function renderGutter(diagnostics = []) {
  const lines = $("spec").value.split("\n").length;
  const marks = new Map();
  for (const d of diagnostics) if (d.line > 0) marks.set(d.line, d.severity);
  const gutter = $("gutter");
  gutter.replaceChildren();
  for (let i = 1; i <= lines; i++) {
    const span = document.createElement("span");
    span.textContent = String(i);
    if (marks.get(i) === "error") span.className = "bad";
    else if (marks.get(i) === "warning") span.className = "warn";
    gutter.append(span, "\n");
  }
  gutter.scrollTop = $("spec").scrollTop;
}

function jumpTo(line, col) {
  const text = $("spec").value;
  let offset = 0;
  for (let i = 1; i < line; i++) offset = text.indexOf("\n", offset) + 1;
  offset += Math.max(0, col - 1);
  const editor = $("spec");
  editor.focus();
  editor.setSelectionRange(offset, offset + 1);
  // the selection alone does not scroll a textarea: bring the line to the middle of the view
  const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
  editor.scrollTop = Math.max(0, (line - 1) * lineHeight - editor.clientHeight / 2);
  $("gutter").scrollTop = editor.scrollTop;
}

// The page control a diagnostic is about (a pin typed on the page, a parameter's slider),
// or null for one about the spec's text.
function settingControl(setting) {
  if (!setting) return null;
  const id = setting.kind === "pin" ? `pin-${setting.key.replace(/\W/g, "-")}` : `param-${setting.key}`;
  const input = $(id);
  if (!input) return null;
  return { input, label: setting.kind === "pin" ? `the pin ${setting.key}` : `the parameter ${setting.key}` };
}

// Show a diagnostic beside the control it is about: marked invalid, the message under it.
function markControl(control, d) {
  const { input } = control;
  input.setAttribute("aria-invalid", "true");
  input.classList.add("invalid");
  const note = document.createElement("div");
  note.className = "field-error";
  note.id = `${input.id}-error`;
  note.textContent = d.message;
  input.setAttribute("aria-describedby", note.id);
  input.after(note);
}

function clearControlErrors() {
  for (const note of document.querySelectorAll(".field-error")) note.remove();
  for (const input of document.querySelectorAll(".invalid")) {
    input.classList.remove("invalid");
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

function renderDiagnostics(result) {
  const list = $("diagnostics");
  list.replaceChildren();
  clearControlErrors();
  const diagnostics = result.diagnostics || [];
  const errors = diagnostics.filter((d) => d.severity === "error");
  $("spec").setAttribute("aria-invalid", errors.length ? "true" : "false");
  renderGutter(diagnostics);
  if (!diagnostics.length) {
    const li = document.createElement("li");
    li.className = "ok";
    li.textContent = "No problems found.";
    list.append(li);
    return;
  }
  for (const d of diagnostics) {
    const li = document.createElement("li");
    li.className = d.severity;
    const control = settingControl(d.setting);
    const where = d.line > 0 ? `line ${d.line}, column ${d.col}: ` : control ? `${control.label}: ` : "";
    li.append(`${d.severity} ${d.code}: ${where}${d.message}`);
    if (control) {
      markControl(control, d);
      const go = document.createElement("button");
      go.type = "button";
      go.textContent = "go to";
      go.setAttribute("aria-label", `go to ${control.label}`);
      go.addEventListener("click", () => control.input.focus());
      li.append(go);
    } else if (d.line > 0) {
      const go = document.createElement("button");
      go.type = "button";
      go.textContent = "go to";
      go.setAttribute("aria-label", `go to line ${d.line}`);
      go.addEventListener("click", () => jumpTo(d.line, d.col));
      li.append(go);
    }
    const pre = document.createElement("pre");
    pre.textContent = d.rendered;
    li.append(pre);
    list.append(li);
  }
}

// While the text has errors the last good results stay, dimmed, so the page does not jump.
function markStale(stale) {
  for (const id of ["plan-summary", "tree", "frontier-table"]) $(id).classList.toggle("stale", stale);
  document.querySelector(".charts").classList.toggle("stale", stale);
}

async function check() {
  const seq = ++state.seq.check;
  let result;
  try {
    const settings = { task: state.settings.task };
    result = await post("/api/check", { text: $("spec").value, settings });
  } catch (err) {
    setStatus(`Check failed: ${err.message}`, true);
    return;
  }
  if (seq !== state.seq.check) return; // a newer edit is on its way
  renderDiagnostics(result);
  markStale(!result.ok);
  if (!result.ok) {
    setStatus("The spec has errors: fix them to see the plan (the last good plan is dimmed).", true);
    return;
  }
  if (state.fileTasks === null) state.fileTasks = result.tasks;
  // a text that names none of the file's tasks is another spec (pasted in): it is not the
  // file any more, so the header and "Save spec" must not say it is
  state.detached = !result.tasks.some((t) => state.fileTasks.includes(t));
  state.tasks = result.tasks;
  renderDocument();
  renderTasks(result.tasks, result.task);
  renderControls(result.controls);
  await optimize();
  sweep();
}

// ---------------------------------------------------------------------------------------------
// Controls: sliders (log where sizes span decades), target, objective, pins
// ---------------------------------------------------------------------------------------------

const STEPS = 1000;

// Positions a slider has: one per value for a small integer range (the disks slider moves
// one disk per key press), else STEPS.
function sliderSteps(control) {
  const { min, max, scale, integer } = control;
  return integer && scale !== "log" && scale !== "nines" && max - min <= STEPS ? max - min : STEPS;
}

function sliderScale(control) {
  const { min, max, scale, integer } = control;
  const STEPS = sliderSteps(control);
  if (scale === "nines") {
    // probabilities near 1: position by -log10(1 - p), so 0.998 and 0.9995 are far apart
    const lo = -Math.log10(1 - min);
    const hi = -Math.log10(1 - max);
    return {
      toPos: (v) => Math.round(((-Math.log10(1 - v) - lo) / (hi - lo)) * STEPS),
      fromPos: (p) => Number((1 - 10 ** -(lo + (p / STEPS) * (hi - lo))).toPrecision(6)),
    };
  }
  if (scale === "log") {
    const ratio = Math.log(max / min);
    return {
      toPos: (v) => Math.round((Math.log(v / min) / ratio) * STEPS),
      fromPos: (p) => {
        const v = min * Math.exp((p / STEPS) * ratio);
        return integer ? Math.round(v) : Number(v.toPrecision(4));
      },
    };
  }
  return {
    toPos: (v) => Math.round(((v - min) / (max - min)) * STEPS),
    fromPos: (p) => {
      const v = min + (p / STEPS) * (max - min);
      return integer ? Math.round(v) : Number(v.toPrecision(6));
    },
  };
}

function makeSlider(id, label, control, value, onChange, hint = "") {
  const wrap = document.createElement("div");
  wrap.className = "slider";
  const lab = document.createElement("label");
  lab.htmlFor = id;
  const name = document.createElement("span");
  name.textContent = label;
  const out = document.createElement("output");
  out.htmlFor = id;
  out.textContent = fmt(value);
  lab.append(name, out);
  const input = document.createElement("input");
  input.type = "range";
  input.id = id;
  input.min = "0";
  input.max = String(sliderSteps(control));
  input.step = "1";
  const scale = sliderScale(control);
  input.value = String(scale.toPos(value));
  const update = () => {
    const v = scale.fromPos(Number(input.value));
    out.textContent = fmt(v);
    input.setAttribute("aria-valuetext", fmt(v));
    onChange(v);
  };
  input.setAttribute("aria-valuetext", fmt(value));
  input.addEventListener("input", update);
  wrap.append(lab, input);
  if (hint) {
    const h = document.createElement("div");
    h.className = "hint";
    h.textContent = hint;
    wrap.append(h);
  }
  return wrap;
}

function controlsKey(controls) {
  // Rebuild the controls only when their set changes, so typing does not reset the sliders.
  return JSON.stringify([
    controls.params.map((c) => [c.name, c.min, c.max, c.scale]),
    controls.probabilities.map((c) => [c.id, c.label]),
    controls.target,
    controls.objective,
    controls.decisions.map((d) => [d.key, d.choices, d.pinned]),
  ]);
}

function renderTasks(tasks, current) {
  const select = $("task");
  if (select.options.length !== tasks.length || [...select.options].some((o, i) => o.value !== tasks[i])) {
    select.replaceChildren(...tasks.map((t) => new Option(t, t)));
  }
  select.value = current;
}

// The server computes one thing at a time on a shared CPU, so the plan comes first and the
// slower growth sweep follows once the plan is shown (and only after the sliders rest).
function onSetting() {
  clearTimeout(state.timers.sweep);
  state.edits += 1;
  planBusy(true);
  later("optimize", 60, async () => {
    await optimize();
    later("sweep", 500, sweep);
  });
}

function renderControls(controls) {
  const key = controlsKey(controls);
  if (key === state.controlsKey) return;
  state.controlsKey = key;
  state.controls = controls;
  const s = state.settings;
  // Keep only settings the new spec still has.
  const params = new Set(controls.params.map((c) => c.name));
  if (controls.target?.param) params.add(controls.target.param);
  const probs = new Set(controls.probabilities.map((c) => c.id));
  const pins = new Set(controls.decisions.map((d) => d.key));
  s.defines = Object.fromEntries(Object.entries(s.defines).filter(([k]) => params.has(k)));
  s.probabilities = Object.fromEntries(Object.entries(s.probabilities).filter(([k]) => probs.has(k)));
  s.pins = Object.fromEntries(Object.entries(s.pins).filter(([k]) => pins.has(k)));

  const paramBox = $("param-controls");
  paramBox.replaceChildren();
  for (const c of controls.params) {
    if (c.scale === "none") continue;
    // an override written as a formula (-D n=1M) starts the slider at the spec's value
    const given = Number(s.defines[c.name]);
    const value = s.defines[c.name] !== undefined && Number.isFinite(given) ? given : c.value;
    const hint = c.scale === "log" ? "log scale" : c.scale === "nines" ? "probability, scale of nines" : "";
    paramBox.append(
      makeSlider(`param-${c.name}`, c.name, c, value, (v) => {
        s.defines[c.name] = String(v);
        onSetting();
      }, [c.doc, hint].filter(Boolean).join(" · ")),
    );
  }
  const probBox = $("probability-controls");
  probBox.replaceChildren();
  for (const c of controls.probabilities) {
    const value = s.probabilities[c.id] ?? c.value;
    probBox.append(
      makeSlider(`prob-${c.id.replace(/\W/g, "-")}`, c.label, c, value, (v) => {
        s.probabilities[c.id] = v;
        onSetting();
      }),
    );
  }
  renderTarget(controls.target);
  const objective = $("objective");
  objective.replaceChildren(...controls.objective.options.map((o) => new Option(o, o)));
  objective.value = s.objective || controls.objective.value;
  renderPins(controls.decisions);
}

// The reliability target moves on a scale of "nines": t = 1 − 10^(−v).
function renderTarget(target) {
  const box = $("target-control");
  box.replaceChildren();
  if (!target || target.value === null) {
    box.textContent =
      "This task has no reliability target (require success >= ... or require accuracy >= ...).";
    return;
  }
  const nines = { min: 0.3, max: 9, scale: "linear", integer: false };
  // The target is either a parameter of the spec (moved as a -D override) or a literal.
  const get = () =>
    target.param
      ? Number(state.settings.defines[target.param] ?? target.value)
      : (state.settings.success_target ?? target.value);
  const set = (t) => {
    if (target.param) state.settings.defines[target.param] = String(t);
    else state.settings.success_target = t;
  };
  const measure = target.metric || "success";
  const label = target.param ? `${measure} ≥ ${target.param}` : `${measure} ≥`;
  const slider = makeSlider("target", label, nines, -Math.log10(1 - get()), (v) => {
    set(Number((1 - 10 ** -v).toPrecision(8)));
    onSetting();
  }, "reliability target, on a scale of nines");
  const out = slider.querySelector("output");
  const input = slider.querySelector("input");
  const show = () => {
    const t = get();
    out.textContent = String(t);
    input.setAttribute("aria-valuetext", String(t));
  };
  input.addEventListener("input", show);
  show();
  box.append(slider);
}

function renderPins(decisions) {
  const box = $("pin-controls");
  box.replaceChildren();
  if (!decisions.length) {
    box.textContent = "This task has no decisions to pin.";
    return;
  }
  for (const d of decisions) {
    const id = `pin-${d.key.replace(/\W/g, "-")}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = d.key;
    let input;
    const current = state.settings.pins[d.key] ?? "";
    if (d.kind === "choice") {
      input = document.createElement("select");
      const auto = d.pinned ? `auto (spec pins ${d.pinned})` : "auto";
      input.append(new Option(auto, ""), ...d.choices.map((c) => new Option(c, c)));
      input.value = current;
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.placeholder = d.pinned ? `spec pins ${d.pinned}` : "auto";
      input.value = current;
    }
    input.id = id;
    input.addEventListener("change", () => {
      const value = input.value.trim();
      if (value) state.settings.pins[d.key] = value;
      else delete state.settings.pins[d.key];
      onSetting();
    });
    box.append(label, input);
  }
}

// ---------------------------------------------------------------------------------------------
// The plan: summary, tree, frontier
// ---------------------------------------------------------------------------------------------

// The plan panel is aria-busy from a settings change until the plan for the latest settings
// (or its error) is on screen, so assistive technology and tests wait for the final answer.
function planBusy(busy) {
  $("plan-panel").setAttribute("aria-busy", String(busy));
}

async function optimize() {
  const seq = ++state.seq.optimize;
  const edits = state.edits;
  try {
    await optimizeNow(seq);
  } finally {
    if (seq === state.seq.optimize && edits === state.edits) planBusy(false);
  }
}

async function optimizeNow(seq) {
  const started = performance.now();
  let result;
  try {
    result = await post("/api/optimize", payload());
  } catch (err) {
    setStatus(`Optimization failed: ${err.message}`, true);
    return;
  }
  if (seq !== state.seq.optimize) return;
  if (tooSlow(result)) {
    const last = result.last && result.last.result;
    if (last) {
      state.result = last;
      renderSummary(last.plan, last, "Last plan found (under other settings)");
      renderTree(last.tree);
      renderFrontier(last);
    }
    markStale(true); // what is on screen is not the answer for these settings
    return;
  }
  if (!result.ok) {
    renderDiagnostics(result);
    setStatus("These settings do not fit the spec: see the diagnostics.", true);
    return;
  }
  state.result = result;
  renderDiagnostics(result); // clears a settings problem the last answer reported
  markStale(false);
  const ms = Math.round(performance.now() - started);
  setStatus(`Optimized task ${result.task} in ${ms} ms.`);
  $("back-to-optimum").hidden = true;
  renderSummary(result.plan, result, "Optimal plan");
  renderTree(result.tree);
  renderFrontier(result);
}

// each metric labelled with its unit (dollars ($), latency (forward passes)), as in explain
function metricRows(metrics, names, labels) {
  return names
    .filter((m) => metrics[m] !== undefined)
    .map((m) => `<tr><th scope="row">${escapeHtml((labels || {})[m] || m)}</th><td class="num">${fmt(metrics[m])}</td></tr>`)
    .join("");
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderSummary(plan, result, title) {
  const box = $("plan-summary");
  const objective = `${result.objective.sense} ${result.objective.metric}`;
  if (!plan) {
    const why = (result.why || []).map((r) => `<li>${escapeHtml(r)}</li>`).join("");
    box.innerHTML = `<p><span class="infeasible">No plan</span> for ${escapeHtml(objective)}.</p><ul>${why}</ul>`;
    return;
  }
  const verdict = plan.feasible
    ? `<span class="feasible">feasible</span>`
    : `<span class="infeasible">infeasible</span>`;
  const reasons = (plan.reasons || []).map((r) => `<li>${escapeHtml(r)}</li>`).join("");
  const decisions = Object.entries(plan.decisions)
    .map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(v)}`)
    .join(", ");
  // ratios are to the plan shown (a frontier plan's own, not the optimum's)
  const metric = result.objective.metric;
  const valueOf = (p) => p.metrics[metric] ?? (metric === "success" ? p.success : null);
  const shown = valueOf(plan);
  const which = title === "Optimal plan" ? "the optimal plan" : "this plan";
  const baselines = (result.baselines || [])
    .map((b) => {
      const value = valueOf(b);
      const ratio = positive(shown) && typeof value === "number" ? value / shown : null;
      const said = ratio === null || !Number.isFinite(ratio) ? "" : ` (${Number(ratio.toPrecision(3))}× ${which})`;
      const verdict = b.feasible ? "" : "infeasible: ";
      return `<tr><th scope="row">baseline ${escapeHtml(b.name)}</th><td class="num">${verdict}${fmt(value)}${said}</td></tr>`;
    })
    .join("");
  box.innerHTML = `
    <p><strong>${escapeHtml(title)}</strong> for ${escapeHtml(objective)}: ${verdict},
      success ${fmtProbability(plan.success)}${plan.accuracy == null ? "" : `, accuracy ${fmtProbability(plan.accuracy)} (${fmt(plan.errors)} expected errors)`}</p>
    ${reasons ? `<ul>${reasons}</ul>` : ""}
    <p class="decisions">${decisions || "no decisions"}</p>
    <table><tbody>${metricRows(plan.metrics, result.metric_names, result.metric_labels)}${baselines}</tbody></table>`;
}

// A node's text, line by line: nothing is cut short, a long line wraps at a space (a count
// like ×18,446,744,073,709,551,615 stays whole and widens the node instead).
const WRAP = 34;
const CHAR_PX = 7.3;

function wrapped(text) {
  const out = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > WRAP) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out;
}

function nodeLines(n) {
  const title = wrapped(`${n.label}${n.count ? ` ×${n.count}` : ""}`).map((l) => [l, "title"]);
  const decisions = (n.decisions || []).flatMap((d) => wrapped(d).map((l) => [l, ""]));
  const share = n.share === null || n.share === undefined ? "" : `share ${(n.share * 100).toFixed(1)}%`;
  return [...title, ...decisions, [share, ""]];
}

function renderTree(tree) {
  const box = $("tree");
  box.replaceChildren();
  $("node-detail").textContent = "";
  if (!tree) return;
  const root = d3.hierarchy(tree);
  const longest = Math.max(...root.descendants().flatMap((d) => nodeLines(d.data).map(([l]) => l.length)));
  const width = Math.max(230, Math.ceil(longest * CHAR_PX) + 16);
  const lines = (d) => nodeLines(d.data).length;
  const maxLines = Math.max(...root.descendants().map(lines));
  const layout = d3.tree().nodeSize([maxLines * 15 + 18, width + 40]);
  layout(root);
  let x0 = Infinity;
  let x1 = -Infinity;
  root.each((d) => {
    x0 = Math.min(x0, d.x);
    x1 = Math.max(x1, d.x);
  });
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const height = x1 - x0 + maxLines * 15 + 30;
  const fullWidth = (root.height + 1) * (width + 40) + 10;
  svg.setAttribute("width", fullWidth);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `-5 ${x0 - (maxLines * 15) / 2 - 10} ${fullWidth} ${height}`);
  for (const link of root.links()) {
    const path = document.createElementNS(ns, "path");
    const sx = link.source.y + width;
    const tx = link.target.y;
    const mx = (sx + tx) / 2;
    path.setAttribute("class", "link");
    path.setAttribute("d", `M${sx},${link.source.x} C${mx},${link.source.x} ${mx},${link.target.x} ${tx},${link.target.x}`);
    svg.append(path);
  }
  for (const d of root.descendants()) {
    const n = d.data;
    const g = document.createElementNS(ns, "g");
    g.setAttribute("class", n.count ? "node folded" : "node");
    g.setAttribute("transform", `translate(${d.y},${d.x})`);
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "treeitem");
    g.setAttribute("aria-level", String(d.depth + 1));
    const share = n.share === null || n.share === undefined ? "" : `, ${(n.share * 100).toFixed(1)}% of the objective`;
    const summary = `${n.label}${n.count ? ` ×${n.count}` : ""}${share}`;
    g.setAttribute("aria-label", `${summary}. ${(n.decisions || []).join(", ")}`);
    const h = lines(d) * 15 + 8;
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", 0);
    rect.setAttribute("y", -h / 2);
    rect.setAttribute("width", width);
    rect.setAttribute("height", h);
    g.append(rect);
    if (n.share) {
      const bar = document.createElementNS(ns, "rect");
      bar.setAttribute("class", "share");
      bar.setAttribute("x", 1);
      bar.setAttribute("y", h / 2 - 5);
      bar.setAttribute("width", Math.max(1, (width - 2) * Math.min(1, n.share)));
      bar.setAttribute("height", 4);
      g.append(bar);
    }
    const title = document.createElementNS(ns, "title");
    title.textContent = n.formula ? `${summary}\n${n.formula}` : summary;
    g.append(title);
    nodeLines(n).forEach(([line, cls], i) => {
      const t = document.createElementNS(ns, "text");
      t.setAttribute("x", 8);
      t.setAttribute("y", -h / 2 + 16 + i * 15);
      if (cls) t.setAttribute("class", cls);
      t.textContent = line;
      g.append(t);
    });
    const show = () => {
      $("node-detail").textContent = `${summary}\n${(n.decisions || []).join("\n")}${n.formula ? `\nformula: ${n.formula}` : ""}`;
    };
    g.addEventListener("mouseenter", show);
    g.addEventListener("focus", show);
    svg.append(g);
  }
  box.append(svg);
}

// Log axes label the powers of ten, written compactly (1e6 rather than 1,000,000.0); an axis
// spanning less than two decades labels every tick instead.
function compact(value) {
  const exponent = Math.log10(value);
  if (Math.abs(exponent - Math.round(exponent)) < 1e-9 && Math.abs(exponent) >= 4) {
    return `1e${Math.round(exponent)}`;
  }
  return Math.abs(value) >= 1e4 || Math.abs(value) < 1e-3 ? value.toExponential(1) : String(Number(value.toPrecision(3)));
}

function isPowerOfTen(value) {
  const exponent = Math.log10(value);
  return Math.abs(exponent - Math.round(exponent)) < 1e-9;
}

const MAX_LABELS = 8;

// Labels for every tick of a log axis, computed once per axis: the powers of ten when there
// are two or more (every k-th of them when there are many, so labels never overlap), else
// ticks at least an eighth of the axis apart (a log axis is even in log(value), so labels
// this far apart never overlap, however close Chart.js puts its ticks), each with as many
// digits as it takes to tell them apart; a label equal to its neighbour's is dropped, so no
// axis repeats one label.
function logLabels(values) {
  const powers = values.filter(isPowerOfTen);
  if (powers.length >= 2) {
    const every = Math.ceil(powers.length / MAX_LABELS);
    return values.map((v) => (isPowerOfTen(v) && Math.round(Math.log10(v)) % every === 0 ? compact(v) : null));
  }
  const kept = spaced(values);
  for (let digits = 2; digits <= 6; digits++) {
    const labels = values.map((v, i) => (kept[i] ? shortNumber(v, digits) : null));
    const shown = labels.filter((l) => l !== null);
    if (new Set(shown).size === shown.length) return labels;
  }
  let previous = null;
  return values.map((v, i) => {
    if (!kept[i]) return null;
    const label = shortNumber(v, 6);
    if (label === previous) return null;
    previous = label;
    return label;
  });
}

// Which ticks (ascending values) get a label: the first, then each at least 1/MAX_LABELS of
// the axis's span in log(value) from the last one kept.
function spaced(values) {
  const logs = values.map((v) => Math.log10(v));
  const gap = (Math.max(...logs) - Math.min(...logs)) / MAX_LABELS;
  let last = -Infinity;
  return logs.map((l) => {
    if (l - last < gap * (1 - 1e-9)) return false;
    last = l;
    return true;
  });
}

function shortNumber(value, digits) {
  const abs = Math.abs(value);
  if (abs >= 1e4 || (abs < 1e-3 && abs > 0)) return value.toExponential(digits - 1).replace(/\.?0+e/, "e");
  return String(Number(value.toPrecision(digits)));
}

function logTicks(value, index, ticks) {
  if (!ticks.labels || ticks.labels.length !== ticks.length) ticks.labels = logLabels(ticks.map((t) => t.value));
  return ticks.labels[index];
}

function axis(title, log) {
  const ticks = { color: "#1b1f24", autoSkip: true, autoSkipPadding: 12, maxRotation: 0 };
  if (log) ticks.callback = logTicks;
  return { type: log ? "logarithmic" : "linear", title: { display: true, text: title, color: "#1b1f24" }, ticks };
}

function chartOptions(xTitle, yTitle, xLog, yLog, onPick) {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    parsing: false,
    scales: { x: axis(xTitle, xLog), y: axis(yTitle, yLog) },
    plugins: { legend: { labels: { color: "#1b1f24" } } },
    onClick: onPick
      ? (event, elements) => {
          if (elements.length) onPick(elements[0]);
        }
      : undefined,
  };
}

function setChart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  state.charts[id] = new Chart($(id), config);
}

const PALETTE = ["#0b5cad", "#b00020", "#1d6b35", "#7a4d00", "#6a1b9a", "#00695c", "#37474f"];

function positive(v) {
  return typeof v === "number" && Number.isFinite(v) && v > 0;
}

function frontierDataset(points, key) {
  const color = (ctx) => (points[ctx.dataIndex]?.optimal ? "#b00020" : "#0b5cad");
  const radius = (ctx) => (points[ctx.dataIndex]?.optimal ? 7 : 4);
  return {
    label: `${points.length} Pareto-optimal plan${points.length === 1 ? "" : "s"} (red: the optimum)`,
    data: points.map((p) => ({ x: p.metrics[state.frontierMetric], y: key === "success" ? p.success : p.metrics[key] })),
    pointBackgroundColor: color,
    pointBorderColor: color,
    pointRadius: radius,
    pointHoverRadius: 8,
    showLine: true,
    borderColor: "#8a94a3",
    borderWidth: 1,
  };
}

function renderFrontier(result) {
  const frontier = result.frontier;
  const metric = frontier.metric;
  state.frontierMetric = metric;
  // the captions name the frontier's metric (cost for a latency or success objective)
  for (const name of document.querySelectorAll(".frontier-metric")) name.textContent = metric;
  const bySuccess = frontier.success;
  const byLatency = frontier.latency;
  // the reliability the frontier is against: success, or accuracy when the task bounds it
  const measure = frontier.measure || "success";
  const xLog = (points) => points.length > 0 && points.every((p) => positive(p.metrics[metric]));
  setChart("frontier-success", {
    type: "scatter",
    data: { datasets: [frontierDataset(bySuccess, "success")] },
    options: chartOptions(metric, measure, xLog(bySuccess), false, (e) => showFrontierPoint(bySuccess[e.index])),
  });
  const yLog = byLatency.length > 0 && byLatency.every((p) => positive(p.metrics.latency));
  setChart("frontier-latency", {
    type: "scatter",
    data: { datasets: [frontierDataset(byLatency, "latency")] },
    options: chartOptions(metric, "latency (forward passes)", xLog(byLatency), yLog, (e) => showFrontierPoint(byLatency[e.index])),
  });
  const table = $("frontier-table");
  const head = `<thead><tr><th scope="col">#</th><th scope="col">${escapeHtml(metric)}</th><th scope="col">${measure}</th><th scope="col">latency</th><th scope="col">decisions</th><th scope="col"><span class="visually-hidden">show</span></th></tr></thead>`;
  const rows = bySuccess
    .map((p, i) => {
      const decisions = Object.entries(p.decisions).map(([k, v]) => `${escapeHtml(k)}=${escapeHtml(v)}`).join(" ");
      return `<tr class="${p.optimal ? "optimal" : ""}"><td>${i + 1}${p.optimal ? " (optimum)" : ""}</td><td>${fmt(p.metrics[metric])}</td><td>${fmtProbability(p.success)}</td><td>${fmt(p.metrics.latency)}</td><td class="decisions">${decisions}</td><td><button type="button" data-point="${i}">Show plan</button></td></tr>`;
    })
    .join("");
  table.innerHTML = `${head}<tbody>${rows}</tbody>`;
  for (const button of table.querySelectorAll("button[data-point]")) {
    button.addEventListener("click", () => showFrontierPoint(bySuccess[Number(button.dataset.point)]));
  }
}

async function showFrontierPoint(point) {
  const seq = ++state.seq.plan;
  let result;
  try {
    result = await post("/api/plan", payload({ decisions: point.decisions }));
  } catch (err) {
    setStatus(`Could not show that plan: ${err.message}`, true);
    return;
  }
  if (seq !== state.seq.plan || tooSlow(result)) return;
  if (!result.ok) {
    renderDiagnostics(result);
    return;
  }
  renderSummary(result.plan, { ...state.result, ...result }, "Frontier plan");
  renderTree(result.tree);
  $("back-to-optimum").hidden = false;
  setStatus("Showing a plan from the frontier.");
}

// ---------------------------------------------------------------------------------------------
// Cost against a size parameter (log-log), optimal plan vs each baseline
// ---------------------------------------------------------------------------------------------

const INFEASIBLE = " — infeasible: misses the requirements (hollow, dotted)";

async function sweep() {
  const seq = ++state.seq.sweep;
  let result;
  try {
    result = await post("/api/sweep", payload());
  } catch (err) {
    setStatus(`Sweep failed: ${err.message}`, true);
    return;
  }
  if (seq !== state.seq.sweep) return;
  if (result.too_slow) {
    const li = document.createElement("li");
    li.textContent = result.diagnostics[0].message;
    $("growth").replaceChildren(li);
    return;
  }
  if (!result.ok) return;
  $("sweep-variable").textContent = result.variable ? `(${result.variable})` : "";
  $("sweep-metric").textContent = result.metric;
  // colours follow the series' place (the optimum is always the first, solid line)
  // a series that misses the requirements (a baseline that cannot run, or whose answer is
  // wrong too often) is drawn hollow and dotted, and its label says so: a cheap line below
  // the optimum must never read as a better plan
  const datasets = result.series
    .map((s, i) => ({
      label: `${s.name}: ${s.growth}${s.feasible === false ? INFEASIBLE : ""}`,
      data: s.points.filter(([x, y]) => positive(x) && positive(y)).map(([x, y]) => ({ x, y })),
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: s.feasible === false ? "#ffffff" : PALETTE[i % PALETTE.length],
      pointStyle: s.feasible === false ? "rectRot" : "circle",
      borderDash: s.feasible === false ? [2, 3] : i === 0 ? [] : [6, 3],
      borderWidth: s.feasible === false ? 1.5 : 2,
      pointRadius: s.feasible === false ? 4 : 3,
      showLine: true,
      feasible: s.feasible !== false,
      measured: Boolean(s.growth),
    }))
    .filter((d) => d.measured);
  setChart("sweep", {
    type: "scatter",
    data: { datasets },
    options: chartOptions(result.variable || "size", result.metric, true, true),
  });
  const growth = $("growth");
  growth.replaceChildren(
    ...result.series.map((s) => {
      const li = document.createElement("li");
      if (!s.growth) {
        li.textContent = `${s.name}: too few sizes with a plan to measure its growth`;
        return li;
      }
      const fit = s.confirmed ? "confirmed by the fit" : `fitted log-log slope ${fmt(s.slope)}`;
      li.textContent = `${s.name}: ${s.growth} (${fit})${s.feasible === false ? INFEASIBLE : ""}`;
      if (s.feasible === false) li.className = "infeasible-series";
      return li;
    }),
  );
  if (!result.series.length) {
    const li = document.createElement("li");
    li.textContent = "No plan meets the requirements at enough sizes to measure growth.";
    growth.append(li);
  }
}

// ---------------------------------------------------------------------------------------------
// Downloads and saving
// ---------------------------------------------------------------------------------------------

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function downloadCode() {
  const target = $("target-select").value;
  try {
    const response = await post("/api/emit", payload({ target }));
    if (!(response instanceof Response)) {
      if (tooSlow(response)) return;
      renderDiagnostics(response);
      setStatus("Could not emit code: see the diagnostics.", true);
      return;
    }
    const stem = specFileName().replace(/\.[^.]*$/, "");
    download(await response.blob(), `${stem}-${target}.zip`);
    setStatus(`Downloaded the ${target} code.`);
  } catch (err) {
    setStatus(`Could not emit code: ${err.message}`, true);
  }
}

// The header and the save button say which file the text is, and whether it is saved.
function renderDocument() {
  const name = state.name;
  const edited = $("spec").value !== state.fileText;
  let shown = name;
  if (state.detached) shown = `a pasted spec (${state.tasks.join(", ")}), not ${name}`;
  else if (edited) shown = `${name} (edited, not saved)`;
  $("doc-name").textContent = shown;
  document.title = `aalp explore — ${shown}`;
  const save = $("save-spec");
  save.disabled = !state.canSave || state.detached;
  save.title = state.detached
    ? `The text is another spec than ${name}: download it instead`
    : state.canSave
      ? `Write the text to ${name}`
      : "This spec has no file to save to";
  save.textContent = state.canSave && !state.detached ? `Save to ${name.split(/[\\/]/).pop()}` : "Save spec";
}

// The name a download of the text gets: the file's, or the pasted spec's first task's.
function specFileName() {
  return state.detached ? `${state.tasks[0] || "spec"}.aalp` : state.name.split(/[\\/]/).pop();
}

async function saveSpec() {
  try {
    const text = $("spec").value;
    const result = await post("/api/save", payload());
    state.fileText = text;
    renderDocument();
    setStatus(`Saved ${result.saved}.`);
  } catch (err) {
    setStatus(`Could not save: ${err.message}`, true);
  }
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

async function start() {
  const [spec, targets] = await Promise.all([
    fetch("/api/spec").then((r) => r.json()),
    fetch("/api/targets").then((r) => r.json()),
  ]);
  state.name = spec.name;
  state.canSave = spec.can_save;
  state.settings.defines = { ...spec.defines }; // -D NAME=VALUE on the command line
  state.fileText = spec.text;
  $("doc-name").textContent = spec.name;
  document.title = `aalp explore — ${spec.name}`;
  state.tasks = null;
  $("spec").value = spec.text;
  $("save-spec").disabled = !spec.can_save;
  const select = $("target-select");
  select.replaceChildren(...targets.targets.map((t) => new Option(t.name, t.name)));
  if (targets.targets.some((t) => t.name === "python")) select.value = "python";
  $("download-code").disabled = !targets.targets.length;

  $("spec").addEventListener("input", () => {
    renderGutter();
    if (state.tasks) renderDocument();
    later("check", 300, check);
  });
  $("spec").addEventListener("scroll", () => {
    $("gutter").scrollTop = $("spec").scrollTop;
  });
  $("task").addEventListener("change", () => {
    state.settings = { task: $("task").value, defines: {}, probabilities: {}, success_target: null, objective: null, pins: {} };
    state.controlsKey = "";
    check();
  });
  $("objective").addEventListener("change", () => {
    state.settings.objective = $("objective").value;
    onSetting();
  });
  $("back-to-optimum").addEventListener("click", () => optimize());
  $("download-code").addEventListener("click", downloadCode);
  $("download-spec").addEventListener("click", () =>
    download(new Blob([$("spec").value], { type: "text/plain" }), specFileName()),
  );
  $("save-spec").addEventListener("click", saveSpec);
  renderGutter();
  await check();
}

window.addEventListener("DOMContentLoaded", () => {
  start().catch((err) => setStatus(`The explorer could not start: ${err.message}`, true));
});
