// FVC Detect page: upload a video, show the /api/explain document. Plain JS, no build step.
"use strict";
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
const authHeaders = token ? { Authorization: "Bearer " + token } : {};
let lastDoc = null;

function fmt(x, digits = 3) {
  return x === null || x === undefined ? "–" : typeof x === "number" ? Number(x.toFixed(digits)).toString() : String(x);
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k === "class" ? (e.className = v) : e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

async function loadModels() {
  const r = await fetch("/api/models", { headers: authHeaders });
  if (!r.ok) { $("model-line").textContent = "models unavailable (" + r.status + ")"; return; }
  const m = await r.json();
  $("model-line").textContent = "model: " + m.default;
}

function showError(msg) {
  $("progress").hidden = true;
  $("error").textContent = msg;
  $("error").hidden = false;
}

function upload(file) {
  $("error").hidden = true;
  $("result").hidden = true;
  $("progress").hidden = false;
  $("bar-fill").style.width = "0%";
  $("progress-text").textContent = "uploading " + file.name + "…";
  const form = new FormData();
  form.append("file", file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/explain");
  for (const [k, v] of Object.entries(authHeaders)) xhr.setRequestHeader(k, v);
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) $("bar-fill").style.width = (50 * e.loaded / e.total).toFixed(0) + "%";
  };
  xhr.upload.onload = () => {
    $("bar-fill").style.width = "60%";
    $("progress-text").textContent = "scoring " + file.name + " (decoding, features, evidence)…";
  };
  xhr.onerror = () => showError("network error: the server did not answer");
  xhr.onload = () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
    if (xhr.status !== 200) {
      const wait = xhr.getResponseHeader("Retry-After");
      showError((body && body.error ? body.error : "error " + xhr.status) + (wait ? " (retry in " + wait + " s)" : ""));
      return;
    }
    $("bar-fill").style.width = "100%";
    $("progress").hidden = true;
    render(body);
  };
  xhr.send(form);
}

function render(doc) {
  lastDoc = doc;
  $("result").hidden = false;
  const v = doc.verdict, m = doc.model;
  $("verdict").className = v.label;
  $("verdict").replaceChildren(v.label.toUpperCase(), el("small", {}, "P(fake) = " + fmt(v.prob_fake) + " · " + doc.video.name));
  const card = [["model", m.model_id + " (" + m.name + ")"], ["preset", m.preset], ["input", m.input + " " + (m.stages || []).join("+")],
    ["training data", m.data_fingerprint], ["CV ROC-AUC", fmt(m.cv_roc_auc) + " ± " + fmt(m.cv_roc_auc_std)],
    ["time", fmt(doc.elapsed_s, 1) + " s"]];
  $("card").replaceChildren(...card.flatMap(([k, val]) => [el("dt", {}, k), el("dd", {}, val)]));
  const ood = doc.ood;
  $("ood").hidden = !(ood.warning || !ood.available);
  $("ood").textContent = ood.warning ? "⚠ Out of distribution: " + ood.message + " (RMS z " + fmt(ood.rms_z, 1) + ", farthest: "
    + ood.farthest[0].feature + " at z " + fmt(ood.farthest[0].z, 1) + ")"
    : "Out-of-distribution check unavailable: " + (ood.reason || "");
  drawTimeline(doc);
  $("keyframes").replaceChildren(...doc.keyframes.map((k) => el("figure", { class: k.suspicious ? "suspicious" : "" },
    el("img", { src: doc.image_data[k.image], alt: "keyframe at " + fmt(k.time_s, 1) + " s", height: 96 }),
    el("figcaption", {}, fmt(k.time_s, 1) + " s"))));
  renderEvidence(doc);
  const c = doc.codec;
  const rows = [["container", c.container], ["codec / profile", c.codec + " / " + (c.profile || "–")], ["size", c.width + "×" + c.height],
    ["fps", fmt(c.fps, 2)], ["bitrate", c.bit_rate ? fmt(c.bit_rate / 1000, 0) + " kb/s" : "–"], ["bits per pixel", fmt(c.bits_per_pixel, 4)],
    ["keyframe interval", fmt(c.keyframe_interval_frames, 1) + " frames"], ["B-frames", c.b_frames ? "yes" : "no"],
    ["double-quantisation periodicity", fmt(c.dq_periodicity)], ["re-encoding signs", c.reencoding_signs.join("; ") || "none seen"]];
  $("codec").replaceChildren(...rows.map(([k, val]) => el("tr", {}, el("td", {}, k), el("td", {}, val))));
}

function drawTimeline(doc) {
  const segs = doc.timeline.segments;
  const x = segs.map((s) => (s.start_s + s.end_s) / 2);
  const y = segs.map((s) => s.prob_fake);
  const thr = doc.verdict.threshold;
  const end = segs.length ? segs[segs.length - 1].end_s : 1;
  Plotly.newPlot("timeline", [
    { x, y, type: "bar", width: segs.map((s) => 0.95 * (s.end_s - s.start_s)),
      marker: { color: y.map((p) => (p >= thr ? "#b3261e" : "#1b7f3b")) }, name: "P(fake) per " + doc.timeline.unit },
  ], {
    margin: { l: 50, r: 10, t: 10, b: 40 }, yaxis: { range: [0, 1], title: { text: "P(fake)" } },
    xaxis: { title: { text: "seconds" }, range: [0, end] }, showlegend: false,
    shapes: [{ type: "line", x0: 0, x1: end, y0: thr, y1: thr, line: { dash: "dot", color: "#5b6475" } }],
  }, { displayModeBar: false, responsive: true });
}

function renderEvidence(doc) {
  const ev = doc.evidence;
  $("evidence-method").textContent = ev.method ? "Method: " + ev.method : "No attribution: " + ev.reason;
  if (ev.kind === "deep") {
    const seg = doc.timeline.segments[ev.clip];
    if (!ev.method) { $("evidence").replaceChildren(); return; }
    $("evidence").replaceChildren(el("p", {}, "Most suspicious clip (" + fmt(seg.start_s, 1) + "–" + fmt(seg.end_s, 1) + " s). " + ev.reading + "."),
      el("div", { class: "cams" }, ...ev.images.map((i) => el("img", { src: doc.image_data[i.image], alt: ev.method + ", frame " + i.frame }))));
    return;
  }
  const top = Math.max(1e-9, ...ev.families.map((f) => Math.abs(f.contribution)));
  $("evidence").replaceChildren(...ev.families.map((f) => {
    const w = (50 * Math.abs(f.contribution) / top).toFixed(1) + "%";
    const bar = el("span", {});
    bar.style.width = w;
    bar.style.left = f.contribution >= 0 ? "50%" : "calc(50% - " + w + ")";
    bar.style.background = f.contribution >= 0 ? "#b3261e" : "#1b7f3b";
    return el("div", { class: "family" }, el("strong", {}, f.family + " " + (f.contribution >= 0 ? "+" : "") + fmt(f.contribution, 2)),
      el("div", { class: "barbox" }, bar), el("span", {}, f.reading));
  }));
}

$("download").addEventListener("click", () => {
  if (!lastDoc) return;
  const { image_data, ...doc } = lastDoc;
  const a = el("a", { href: URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" })),
    download: doc.video.name.replace(/\.[^.]*$/, "") + "-explain.json" });
  a.click();
  URL.revokeObjectURL(a.href);
});

const drop = $("drop");
["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (e) => { if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]); });
$("file").addEventListener("change", (e) => { if (e.target.files.length) upload(e.target.files[0]); });
loadModels();
