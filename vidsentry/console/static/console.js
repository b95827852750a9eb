// The console's live parts: one Server-Sent Events stream pushes camera tiles, people and
// alerts; everything user-named is put into the page with textContent, never as HTML.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf"]').content;

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function clock(ts) {
  return new Date(ts * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function renderCameras(cameras) {
  const grid = document.getElementById("cameras");
  if (!grid) return;
  for (const cam of cameras) {
    let tile = [...grid.querySelectorAll(".tile")].find((t) => t.dataset.camera === cam.camera);
    if (!tile) {
      grid.querySelector(".empty")?.remove();
      tile = el("figure", { class: "tile" });
      tile.dataset.camera = cam.camera;
      const caption = el("figcaption");
      caption.append(el("span", { class: "name" }, cam.camera), " ", el("span", { class: "badge" }), " ",
                     el("span", { class: "state" }), " ", el("span", { class: "error" }));
      tile.append(el("img", { alt: cam.camera }), caption);
      grid.append(tile);
    }
    const img = tile.querySelector("img");
    if (cam.seq !== null && tile.dataset.seq !== String(cam.seq)) {
      tile.dataset.seq = String(cam.seq);
      img.src = "/camera/" + encodeURIComponent(cam.camera) + ".jpg?seq=" + cam.seq;
    }
    const badge = tile.querySelector(".badge");
    badge.textContent = cam.state;
    badge.className = "badge state-" + cam.state;
    if (cam.error) badge.title = cam.error; else badge.removeAttribute("title");
    const counts = [`${cam.fps} fps`];
    if (cam.dropped !== null && cam.dropped !== undefined) counts.push(`${cam.dropped} dropped`);
    if (cam.reconnects) counts.push(`${cam.reconnects} reconnects`);
    counts.push(`${cam.frames} frames`);
    tile.querySelector(".state").textContent = counts.join(" · ");
    tile.querySelector(".error").textContent = cam.error || "";
  }
}

function renderPeople(people) {
  const body = document.querySelector("#people tbody");
  if (!body) return;
  body.replaceChildren(...people.map((p) => {
    const row = el("tr");
    for (const value of [p.who, p.camera, p.emotion || "-", p.action || "-", `${p.dwell_s} s`]) row.append(el("td", {}, value));
    const cell = el("td");
    cell.append(el("a", { href: "/person/" + encodeURIComponent(p.person_id) }, p.person_id));
    row.append(cell);
    return row;
  }));
}

function alertCard(a) {
  const card = el("article", { class: `alert sev-${a.severity}` });
  card.dataset.entry = a.entry;
  if (a.snapshot) card.append(el("img", { class: "snapshot", alt: "snapshot", src: "/snapshot/" + encodeURIComponent(a.entry) + ".jpg" }));
  const body = el("div");
  const title = el("h3");
  title.append(el("span", { class: "rule" }, a.rule), " ", el("span", { class: "severity" }, a.severity), " ",
               el("span", { class: "status" }, a.status));
  const ack = el("button", { class: "ack" }, "Acknowledge");
  ack.dataset.entry = a.entry;
  body.append(title, el("p", { class: "what" }, a.description), el("p", { class: "where" }, `${a.camera} · ${a.subject} · ${clock(a.ts)} UTC`), ack);
  card.append(body);
  return card;
}

function addAlert(a) {
  const list = document.getElementById("alerts");
  if (!list || [...list.children].some((c) => c.dataset.entry === a.entry)) return;
  list.prepend(alertCard(a));
}

function markAcked(entry) {
  for (const card of document.querySelectorAll("#alerts .alert")) {
    if (card.dataset.entry !== entry) continue;
    card.classList.add("acked");
    card.querySelector("button.ack")?.replaceWith(el("span", { class: "acked-label" }, "acknowledged"));
  }
}

async function acknowledge(entry) {
  const response = await fetch("/api/ack", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf() },
    body: new URLSearchParams({ entry }),
  });
  if (response.ok) markAcked(entry);
  else alert((await response.json()).error || "acknowledge failed");
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.ack");
  if (button) acknowledge(button.dataset.entry);
});

const page = document.body.dataset.page;
if (page === "cameras" || page === "alerts") {
  const stream = new EventSource("/api/stream" + window.location.search);
  stream.addEventListener("cameras", (e) => renderCameras(JSON.parse(e.data)));
  stream.addEventListener("people", (e) => renderPeople(JSON.parse(e.data)));
  stream.addEventListener("alert", (e) => addAlert(JSON.parse(e.data)));
  stream.addEventListener("ack", (e) => markAcked(JSON.parse(e.data).entry));
}
