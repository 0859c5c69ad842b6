// legpress hub dashboard: one live tile per machine, fed by the hub's WebSocket (/ws).
// Everything from the hub is put in the page with textContent, never as HTML.
"use strict";

const FLASH_MS = 3000;

// Alert-to-page delays (ms), read by the browser test and shown in the status line.
window.legpressLatencies = [];

const tiles = new Map();
let audio = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function mm(x) { return (x === null || x === undefined) ? "–" : `${Math.round(x)} mm`; }

function makeTile(t) {
  const root = el("article", "tile");
  root.dataset.machine = t.machine;
  const head = el("header", "tile-head");
  head.append(el("h2", "name", t.machine), el("span", "conn"));
  const who = el("div", "who");
  const pick = el("a", "pick", "change");
  pick.href = `/machines/${encodeURIComponent(t.id)}`;
  who.append(el("span", "person"), document.createTextNode(" "), pick);
  const body = el("div", "tile-body");
  const pad = el("div", "pad");
  pad.setAttribute("aria-label", "back pad contact, seat at the bottom");
  const depth = el("div", "depth");
  const bar = el("div", "depth-bar");
  bar.append(el("div", "fill"), el("div", "warn-mark"), el("div", "limit-mark"), el("div", "lift-mark"));
  depth.append(bar, el("div", "depth-text"));
  const reps = el("div", "reps");
  reps.append(el("span", "rep-count", "0"), el("span", "rep-label", " reps"));
  body.append(pad, depth, reps);
  const alert = el("div", "alert");
  alert.setAttribute("role", "status");
  alert.append(el("strong", "word"), el("span", "msg"));
  // A calibration in progress, said where the person doing it can read it.
  const calib = el("div", "calib");
  calib.setAttribute("role", "status");
  calib.hidden = true;
  const foot = el("div", "tile-foot");
  root.append(head, who, calib, body, alert, foot);
  return root;
}

function tileFor(name, t) {
  let root = tiles.get(name);
  if (!root) {
    root = makeTile(t || { machine: name });
    tiles.set(name, root);
    document.getElementById("tiles").append(root);
  }
  return root;
}

function renderPad(pad, values) {
  const n = values.length;
  while (pad.children.length > n) pad.lastChild.remove();
  while (pad.children.length < n) pad.prepend(el("div", "cell"));
  // Cell 0 (the seat) is drawn at the bottom.
  values.forEach((v, i) => {
    const cell = pad.children[n - 1 - i];
    let state = "dead";
    if (v !== null && v !== undefined) state = v >= 0.7 ? "on" : v >= 0.05 ? "light" : "off";
    cell.className = `cell ${state}`;
    cell.title = v === null || v === undefined ? `cell ${i}: no reading` : `cell ${i}: ${Math.round(v * 100)} %`;
  });
}

function renderTile(t) {
  const root = tileFor(t.machine, t);
  root.classList.toggle("offline", !t.connected);
  root.classList.toggle("occupied", !!t.occupied);
  root.querySelector(".conn").textContent = t.connected ? "● connected" : "○ not connected";
  root.querySelector(".person").textContent = t.person || "nobody picked";
  root.querySelector(".rep-count").textContent = String(t.reps);
  const scale = Math.max(
    t.limit_mm ? t.limit_mm * 1.25 : 0, t.lift_depth_mm ? t.lift_depth_mm * 1.1 : 0, t.max_depth_mm || 0, 450,
  );
  const pct = (x) => `${Math.max(0, Math.min(100, (100 * x) / scale))}%`;
  const fill = root.querySelector(".fill");
  fill.style.width = pct(t.depth_mm || 0);
  fill.classList.toggle("over", t.limit_mm != null && t.depth_mm != null && t.depth_mm > t.limit_mm);
  const limit = root.querySelector(".limit-mark");
  const warn = root.querySelector(".warn-mark");
  limit.hidden = t.limit_mm == null;
  warn.hidden = t.warn_mm == null;
  if (t.limit_mm != null) limit.style.left = pct(t.limit_mm);
  if (t.warn_mm != null) warn.style.left = pct(t.warn_mm);
  // Where this person's lower back lifted off the pad, so they can stop short of it.
  const lift = root.querySelector(".lift-mark");
  lift.hidden = t.lift_depth_mm == null;
  if (t.lift_depth_mm != null) {
    lift.style.left = pct(t.lift_depth_mm);
    lift.title = `back lifted at ${mm(t.lift_depth_mm)}`;
  }
  root.querySelector(".depth-text").textContent =
    `depth ${mm(t.depth_mm)}` + (t.limit_mm != null ? ` of ${mm(t.limit_mm)}` : " (no limit)") +
    (t.lift_depth_mm != null ? ` · back lifted at ${mm(t.lift_depth_mm)}` : "");
  renderPad(root.querySelector(".pad"), t.pad || []);
  const foot = [];
  if (t.session_id) foot.push(`session ${t.session_id}`);
  if (t.error) foot.push(t.error); else foot.push(t.link);
  if (t.faults) foot.push(t.faults);
  if (t.lost_packets) foot.push(`${t.lost_packets} packets lost`);
  const calib = root.querySelector(".calib");
  calib.hidden = !t.calibration;
  calib.textContent = t.calibration || "";
  calib.classList.toggle("running", !!t.calibrating);
  if (t.calibration_note) foot.push(t.calibration_note);
  if (t.setup) foot.push(t.setup);
  root.querySelector(".tile-foot").textContent = foot.join(" · ");
  if (t.alert && root.dataset.alertId !== t.alert.id) showAlert(root, t.alert, false);
}

function beep(kind) {
  if (!audio) return;
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.frequency.value = kind === "rom_warning" ? 660 : 880;
  gain.gain.value = 0.2;
  osc.connect(gain).connect(audio.destination);
  osc.start();
  osc.stop(audio.currentTime + 0.25);
}

function showAlert(root, a, fresh) {
  root.dataset.alertId = a.id;
  root.dataset.alertType = a.type;
  root.querySelector(".word").textContent = a.word || a.type.toUpperCase();
  root.querySelector(".msg").textContent = ` rep ${a.rep + 1}: ${a.message}`;
  if (!fresh) return;
  root.classList.remove("flash");
  void root.offsetWidth; // restart the animation
  root.classList.add("flash");
  clearTimeout(root._flashTimer);
  root._flashTimer = setTimeout(() => root.classList.remove("flash"), FLASH_MS);
  if (a.loud) beep(a.type);
}

function onMessage(msg) {
  if (msg.type === "hello") {
    msg.machines.forEach(renderTile);
  } else if (msg.type === "tile") {
    renderTile(msg);
  } else if (msg.type === "alert") {
    const root = tileFor(msg.machine);
    showAlert(root, msg.alert, true);
    const delay = Date.now() - msg.alert.t_wall_ms;
    window.legpressLatencies.push({ machine: msg.machine, id: msg.alert.id, ms: delay });
  }
}

function setStatus(text, ok) {
  const s = document.getElementById("live-status");
  s.textContent = text;
  s.classList.toggle("ok", ok);
}

function connect(delayMs) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  ws.onopen = () => { setStatus("live", true); delayMs = 500; };
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  ws.onclose = () => {
    setStatus("connection to the hub lost, retrying…", false);
    setTimeout(() => connect(Math.min(delayMs * 2, 10000)), delayMs);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  // The server drew placeholder tiles; the live ones replace them.
  document.getElementById("tiles").replaceChildren();
  const toggle = document.getElementById("sound-toggle");
  toggle.addEventListener("click", () => {
    if (audio) { audio.close(); audio = null; } else { audio = new AudioContext(); beep("rom_warning"); }
    toggle.textContent = audio ? "Sound on" : "Sound off";
    toggle.setAttribute("aria-pressed", audio ? "true" : "false");
  });
  connect(500);
});
