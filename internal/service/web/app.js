// vidflow serve — the live web view. Plain JS, no build step: it polls
// /api/v1/metrics, keeps one card per stream (its MJPEG <img> is made once
// and kept, so the live view does not restart), and uses DeepStream's
// stream/add and stream/remove bodies for its forms.
"use strict";

const $ = (sel) => document.querySelector(sel);
const cards = new Map(); // key "<source_id>" → {el, cameraId}

// With auth on, the token is posted once to /api/v1/session, which sets
// an HttpOnly, SameSite=Strict cookie: every request of the page, the
// MJPEG <img>s included, carries it, and the token is never in a URL nor
// in the page's storage.
function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function api(method, path, body) {
  const res = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    $("#auth").hidden = false;
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { ok: res.ok, status: res.status, data };
}

function fmt(n, digits) {
  if (n === undefined || n === null) return "–";
  return Number(n).toFixed(digits);
}

function setText(root, sel, text) {
  const el = root.querySelector(sel);
  if (el.textContent !== String(text)) el.textContent = text;
}

function cardFor(s) {
  const key = String(s.source_id);
  let c = cards.get(key);
  if (c) return c;
  const el = $("#card").content.firstElementChild.cloneNode(true);
  el.dataset.cameraId = s.camera_id;
  el.dataset.sourceId = key;
  const img = el.querySelector("img");
  img.alt = "live view of " + s.camera_id;
  img.src = "/api/v1/stream/" + encodeURIComponent(s.camera_id) + "/mjpeg";
  el.querySelector(".remove").addEventListener("click", () => removeStream(s.camera_id, s.camera_url));
  $("#streams").appendChild(el);
  c = { el, cameraId: s.camera_id };
  cards.set(key, c);
  return c;
}

function renderStreams(streams) {
  const seen = new Set();
  for (const s of streams) {
    seen.add(String(s.source_id));
    const { el } = cardFor(s);
    setText(el, ".camera-id", s.camera_id);
    setText(el, ".camera-name", s.camera_name || "");
    setText(el, ".source-id", "source " + s.source_id);
    setText(el, ".url", s.camera_url);
    el.querySelector(".url").title = s.camera_url;
    const st = el.querySelector(".state");
    setText(el, ".state", s.state);
    st.className = "overlay state " + s.state;
    setText(el, ".fps", fmt(s.fps, 1));
    setText(el, ".frames", s.frames);
    setText(el, ".latency", fmt(s.latency_p50_ms, 0) + " / " + fmt(s.latency_p95_ms, 0) + " ms");
    setText(el, ".objects", s.objects);
    setText(el, ".reconnects", s.reconnects);
    setText(el, ".drops", s.drops);
  }
  for (const [key, c] of cards) {
    if (!seen.has(key)) {
      const img = c.el.querySelector("img");
      img.src = ""; // ends the MJPEG request
      c.el.remove();
      cards.delete(key);
    }
  }
  $("#no-streams").hidden = streams.length > 0;
}

function renderElements(elements) {
  const tb = $("#elements tbody");
  const rows = elements.map((e) => {
    const tr = document.createElement("tr");
    const cells = [e.name, e.kind, fmt(e.fps, 1), e.frames_in, e.queue_depth + "/" + e.queue_capacity,
      fmt(e.latency_p50_ms, 2), fmt(e.latency_p95_ms, 2), e.drops];
    cells.forEach((v, i) => {
      const td = document.createElement("td");
      td.textContent = v;
      if (i >= 2) td.className = "num";
      tr.appendChild(td);
    });
    return tr;
  });
  tb.replaceChildren(...rows);
}

function renderEvents(events) {
  const ul = $("#events");
  const items = events.slice().reverse().map((ev) => {
    const li = document.createElement("li");
    const t = document.createElement("time");
    t.textContent = new Date(ev.time).toLocaleTimeString();
    li.appendChild(t);
    li.appendChild(document.createTextNode(ev.text));
    return li;
  });
  ul.replaceChildren(...items);
}

// renderCluster shows the cluster view of a node in cluster mode (its
// streams above are the ones this node runs).
function renderCluster(c) {
  $("#cluster").hidden = !c;
  if (!c) return;
  const st = c.streams || {};
  const parts = [c.nodes ? c.nodes.length + " nodes" : "", "leader " + (c.leader || "none"), "etcd " + c.etcd,
    (st.running || 0) + " streams running", c.free + " of " + c.capacity + " free"];
  if (st.pending) parts.push(st.pending + " pending");
  if (st.failed) parts.push(st.failed + " failed");
  if (c.fenced) parts.push("this node is fenced");
  setText(document, "#cluster-summary", parts.filter(Boolean).join(" · "));
  const rows = (c.nodes || []).map((n) => {
    const tr = document.createElement("tr");
    const role = [n.leader ? "leader" : "", n.draining ? "draining" : "", n.id === c.node ? "this node" : ""].filter(Boolean).join(", ");
    for (const v of [n.id, n.streams, n.capacity, role, n.advertise]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    return tr;
  });
  $("#cluster-nodes tbody").replaceChildren(...rows);
}

async function poll() {
  try {
    const { ok, data } = await api("GET", "/api/v1/metrics");
    if (ok && data) {
      $("#auth").hidden = true;
      setText(document, "#pipeline", data.pipeline);
      const r = $("#ready");
      r.textContent = data["ds-ready"] === "YES" ? "ready" : "not ready";
      r.className = "badge " + (data["ds-ready"] === "YES" ? "yes" : "no");
      setText(document, "#stream-count", data.stream_count);
      setText(document, "#max-streams", data.max_batch_size);
      setText(document, "#uptime", Math.round(data.uptime_s));
      const inf = data.inference;
      setText(document, "#infer-summary", inf ? "inference p50 " + fmt(inf.p50_ms, 1) + " ms, p95 " + fmt(inf.p95_ms, 1) + " ms" : "no model");
      renderStreams(data.streams || []);
      renderElements(data.elements || []);
      renderEvents(data.events || []);
      renderCluster(data.cluster);
    }
  } catch (e) {
    $("#ready").textContent = "unreachable";
    $("#ready").className = "badge no";
  }
}

function showResult(ok, text) {
  const p = $("#add-result");
  p.textContent = text;
  p.className = "result " + (ok ? "ok" : "error");
}

async function addStream(ev) {
  ev.preventDefault();
  const f = ev.target;
  const body = {
    key: "sensor",
    value: {
      camera_id: f.camera_id.value.trim(),
      camera_name: f.camera_name.value.trim(),
      camera_url: f.camera_url.value.trim(),
      change: "camera_add",
    },
    headers: { source: "vidflow-web", created_at: new Date().toISOString() },
  };
  const { ok, status, data } = await api("POST", "/api/v1/stream/add", body);
  if (ok) {
    showResult(true, "Added " + body.value.camera_id + " (source " + data.stream.source_id + ").");
    f.reset();
  } else {
    showResult(false, status + ": " + (data && data.error ? data.error : "failed"));
  }
  poll();
}

async function removeStream(cameraId, url) {
  const body = { key: "sensor", value: { camera_id: cameraId, camera_url: url, change: "camera_remove" } };
  const { ok, status, data } = await api("POST", "/api/v1/stream/remove", body);
  showResult(ok, ok ? "Removed " + cameraId + "." : status + ": " + (data && data.error ? data.error : "failed"));
  poll();
}

$("#add-form").addEventListener("submit", addStream);
$("#auth-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const token = $("#token").value.trim();
  $("#token").value = "";
  localStorage.removeItem("vidflow-token"); // what older pages kept
  await fetch("/api/v1/session", { method: "POST", headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token }, body: "{}" });
  for (const [, c] of cards) c.el.remove();
  cards.clear();
  poll();
});
poll();
setInterval(poll, 1000);
