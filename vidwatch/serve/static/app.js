// vidwatch's page: live views, sparklines of the scores against the thresholds the gate applied,
// connection state, arm/disarm, and the event list with snapshots and clips. Plain JS, no build step.
"use strict";

const KINDS = ["motion", "scene_change", "lighting", "stream_lost", "stream_restored"];
const MJPEG_MAX_CAMERAS = 4; // browsers keep ~6 connections per host; beyond this, pictures are polled
const query = new URLSearchParams(location.search);
let token = query.get("token") || sessionStorage.getItem("vidwatch-token") || "";
if (query.get("token")) sessionStorage.setItem("vidwatch-token", token);
const cards = new Map();
let cameraCount = 0;
let lastEvents = "";

function withToken(url) {
  return token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
}

async function api(path, options = {}) {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    document.getElementById("login").hidden = false;
    throw new Error("token needed");
  }
  if (!response.ok) throw new Error(path + ": " + response.status);
  return response.json();
}

document.getElementById("login").addEventListener("submit", (e) => {
  e.preventDefault();
  token = document.getElementById("token").value.trim();
  sessionStorage.setItem("vidwatch-token", token);
  document.getElementById("login").hidden = true;
  for (const card of cards.values()) card.remove();
  cards.clear();
  refreshCameras();
  refreshEvents();
});

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function ensureOption(select, value) {
  if (![...select.options].some((o) => o.value === value)) select.append(el("option", { value }, value));
}

function makeCard(camera) {
  const card = document.getElementById("camera-card").content.firstElementChild.cloneNode(true);
  card.dataset.camera = camera.name;
  card.querySelector(".name").textContent = camera.name;
  const live = card.querySelector("img.live");
  const path = "/api/cameras/" + encodeURIComponent(camera.name);
  if (cameraCount <= MJPEG_MAX_CAMERAS) {
    live.src = withToken(path + "/live.mjpg");
  } else {
    const poll = () => { live.src = withToken(path + "/live.jpg?t=" + Date.now()); };
    poll();
    card.pollTimer = setInterval(poll, 1000);
  }
  card.querySelector(".arm").addEventListener("click", async () => {
    const armed = card.querySelector(".arm").classList.contains("armed");
    try {
      updateCard(card, await api(path + (armed ? "/disarm" : "/arm"), { method: "POST" }));
    } catch (err) { console.warn(err); }
  });
  document.getElementById("cameras").append(card);
  ensureOption(document.getElementById("filter-camera"), camera.name);
  return card;
}

function updateCard(card, camera) {
  const state = card.querySelector(".state");
  state.textContent = camera.state + (camera.reason && camera.state !== "live" ? ": " + camera.reason : "");
  state.className = "state " + camera.state;
  card.dataset.state = camera.state;
  card.querySelector(".fps").textContent = camera.state === "live"
    ? camera.fps.toFixed(1) + " fps" + (camera.dropped ? ", " + camera.dropped + " dropped" : "") : "";
  const arm = card.querySelector(".arm");
  arm.classList.toggle("armed", camera.armed);
  arm.textContent = camera.armed ? "armed" : "disarmed";
  arm.title = camera.armed ? "events are notified (MQTT, hooks); click to disarm"
    : "events are recorded but not notified; click to arm";
  card.dataset.armed = String(camera.armed);
}

async function refreshCameras() {
  try {
    const cameras = await api("/api/cameras");
    cameraCount = cameras.length;
    for (const camera of cameras) {
      const card = cards.get(camera.name) || makeCard(camera);
      cards.set(camera.name, card);
      updateCard(card, camera);
    }
    const live = cameras.filter((c) => c.state === "live").length;
    document.getElementById("status").textContent = live + " of " + cameras.length + " cameras live";
  } catch (err) {
    document.getElementById("status").textContent = "service unreachable";
  }
}

function fmt(v) {
  return v === 0 ? "0" : Math.abs(v) >= 0.01 ? v.toPrecision(2) : v.toExponential(1);
}

function drawSpark(canvas, values, thresholds, active) {
  const width = canvas.clientWidth || 200, height = canvas.clientHeight || 26;
  canvas.width = width * devicePixelRatio;
  canvas.height = height * devicePixelRatio;
  const g = canvas.getContext("2d");
  g.scale(devicePixelRatio, devicePixelRatio);
  const n = values.length;
  if (!n) return;
  let top = 0;
  for (let i = 0; i < n; i++) top = Math.max(top, values[i] || 0, 1.5 * (thresholds[i] || 0));
  top = top || 1;
  const x = (i) => (n === 1 ? width : (i / (n - 1)) * width);
  const y = (v) => height - 1 - (Math.min(v, top) / top) * (height - 2);
  g.fillStyle = "rgba(248, 81, 73, 0.18)";
  for (let i = 0; i < n; i++) if (active[i]) g.fillRect(x(i) - width / n / 2, 0, width / n + 1, height);
  g.strokeStyle = "#d29922";
  g.setLineDash([3, 3]);
  g.beginPath();
  let started = false;
  for (let i = 0; i < n; i++) {
    if (thresholds[i] == null) { started = false; continue; }
    started ? g.lineTo(x(i), y(thresholds[i])) : g.moveTo(x(i), y(thresholds[i]));
    started = true;
  }
  g.stroke();
  g.setLineDash([]);
  g.strokeStyle = "#58a6ff";
  g.beginPath();
  started = false;
  for (let i = 0; i < n; i++) {
    if (values[i] == null) { started = false; continue; }
    started ? g.lineTo(x(i), y(values[i])) : g.moveTo(x(i), y(values[i]));
    started = true;
  }
  g.stroke();
}

async function refreshScores() {
  for (const [name, card] of cards) {
    try {
      const history = await api("/api/cameras/" + encodeURIComponent(name) + "/scores");
      const box = card.querySelector(".sparklines");
      for (const [score, values] of Object.entries(history.scores)) {
        let row = box.querySelector('[data-score="' + score + '"]');
        if (!row) {
          row = el("div", { class: "spark", "data-score": score });
          row.append(el("span", { class: "label" }, score), el("canvas"), el("span", { class: "value" }));
          box.append(row);
        }
        const thresholds = history.thresholds[score] || [];
        drawSpark(row.querySelector("canvas"), values, thresholds, history.active);
        const last = values[values.length - 1], limit = thresholds[thresholds.length - 1];
        const value = row.querySelector(".value");
        value.textContent = last == null ? "" : fmt(last) + " / " + (limit == null ? "?" : fmt(limit));
        value.classList.toggle("over", last != null && limit != null && last > limit);
        row.title = score + ": highest score per " + history.slice.toFixed(1) + " s (blue) and the threshold the gate applied (dashed)";
      }
    } catch (err) { console.warn(err); }
  }
}

function formatTime(epoch) {
  return new Date(epoch * 1000).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function play(event) {
  document.getElementById("player-title").textContent = event.camera + " " + event.kind + " " + formatTime(event.start);
  const video = document.getElementById("player-video");
  video.src = withToken(event.clip);
  document.getElementById("player").showModal();
}
document.getElementById("player-close").addEventListener("click", () => {
  const video = document.getElementById("player-video");
  video.pause();
  video.removeAttribute("src");
  document.getElementById("player").close();
});

async function refreshEvents() {
  const camera = document.getElementById("filter-camera").value;
  const kind = document.getElementById("filter-kind").value;
  const params = new URLSearchParams({ limit: "50" });
  if (camera) params.set("camera", camera);
  if (kind) params.set("kind", kind);
  let events;
  try { events = await api("/api/events?" + params); } catch (err) { return; }
  const signature = JSON.stringify(events.map((e) => [e.id, e.open, e.end, e.snapshot, e.clip]));
  if (signature === lastEvents) return;
  lastEvents = signature;
  const list = document.getElementById("events");
  list.replaceChildren();
  for (const event of events) {
    ensureOption(document.getElementById("filter-kind"), event.kind);
    const item = el("li", { class: "event", "data-id": event.id, "data-kind": event.kind, "data-camera": event.camera });
    if (event.snapshot) {
      const img = el("img", { src: withToken(event.snapshot), alt: event.kind + " snapshot", loading: "lazy" });
      img.addEventListener("click", () => (event.clip ? play(event) : window.open(withToken(event.snapshot))));
      item.append(img);
    } else {
      item.append(el("div", { class: "thumb-none muted" }, event.open ? "…" : "no picture"));
    }
    const text = el("div");
    text.append(el("span", { class: "kind " + event.kind }, event.kind), document.createTextNode(" " + event.camera));
    if (event.open) text.append(document.createTextNode(" "), el("span", { class: "open" }, "ongoing"));
    text.append(el("br"), el("span", { class: "muted" }, formatTime(event.start) + (event.open ? "" : ", " + event.duration.toFixed(1) + " s")));
    if (event.detectors.length) text.append(el("br"), el("span", { class: "muted" }, event.detectors.join(", ")));
    if (!event.notified) text.append(el("br"), el("span", { class: "muted" }, "disarmed: not notified"));
    if (event.clip && !event.open) {
      const link = el("a", { href: "#", class: "clip" }, "▶ clip");
      link.addEventListener("click", (e) => { e.preventDefault(); play(event); });
      text.append(el("br"), link);
    }
    item.append(text);
    list.append(item);
  }
  document.getElementById("no-events").hidden = events.length > 0;
}

for (const kind of KINDS) ensureOption(document.getElementById("filter-kind"), kind);
for (const id of ["filter-camera", "filter-kind"]) {
  document.getElementById(id).addEventListener("change", () => { lastEvents = ""; refreshEvents(); });
}
refreshCameras();
refreshEvents();
setInterval(refreshCameras, 1000);
setInterval(refreshScores, 2000);
setInterval(refreshEvents, 2000);
setTimeout(refreshScores, 500);
