// meshpipe studio: submit a photo, follow the job's Server-Sent Events, show each object's
// progress and, once done, its textured GLB in a <model-viewer>. No build step, no CDN:
// model-viewer is served by the gateway from the npm package `make model-viewer` vendored.

const $ = (id) => document.getElementById(id);
const COLORS = ["#2a62c9", "#d1495b", "#00a878", "#edae49", "#8e44ad", "#00798c", "#f17300", "#5c6b73"];
const STAGES = { STAGE_MATTING: "matting", STAGE_SHAPE: "shape", STAGE_TEXTURE: "texture", STAGE_DETECTOR: "detector" };
const KIND_ORDER = ["textured_mesh", "mesh", "crop", "matte"];
const state = { file: null, source: null, job: null, cards: new Map(), size: null };
// Timings read by the benchmark and the browser test: result event -> model loaded, ms.
window.meshpipeStudio = { loaded: 0, timings: [], events: 0, done: null };

const viewerReady = import("/vendor/model-viewer/model-viewer.min.js").then(
  () => true,
  () => { notice("model-viewer is not installed on this gateway (run `make model-viewer`); downloads still work."); return false; },
);

async function api(path, options = {}) {
  const reply = await fetch(path, options);
  const body = reply.headers.get("content-type")?.includes("json") ? await reply.json() : null;
  if (!reply.ok) throw new Error(body?.detail || body?.error || `${reply.status} ${reply.statusText}`);
  return body;
}

function notice(text) {
  const li = document.createElement("li");
  li.textContent = text;
  $("notices").append(li);
}

function setStatus(text) { $("job-status").textContent = text; }

function choose(file) {
  if (!file || !file.type.startsWith("image/")) return;
  state.file = file;
  $("preview").src = URL.createObjectURL(file);
  $("preview").hidden = false;
  $("drop-text").textContent = `${file.name || "pasted image"} — drop or paste another to replace`;
  $("generate").disabled = false;
}

function wireUpload() {
  const drop = $("drop");
  $("image").addEventListener("change", (e) => choose(e.target.files[0]));
  for (const kind of ["dragenter", "dragover"]) drop.addEventListener(kind, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const kind of ["dragleave", "drop"]) drop.addEventListener(kind, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); choose(e.dataTransfer.files[0]); });
  document.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
    if (item) choose(item.getAsFile());
  });
  $("job-form").addEventListener("submit", submit);
}

async function submit(event) {
  event.preventDefault();
  if (!state.file) return;
  const form = new FormData();
  form.append("image", state.file, state.file.name || "pasted.png");
  form.append("name", state.file.name || "pasted image");
  form.append("prompt", $("prompt").value.trim());
  form.append("texture", $("texture").checked);
  form.append("remove_background", $("remove_background").checked);
  form.append("quality", $("quality").value);
  form.append("max_objects", $("max_objects").value || "0");
  if ($("seed").value !== "") form.append("seed", $("seed").value);
  $("generate").disabled = true;
  $("form-error").hidden = true;
  try {
    const job = await api("/v1/jobs", { method: "POST", body: form, headers: { "Idempotency-Key": crypto.randomUUID() } });
    history.pushState({}, "", job.links.studio);
    openJob(job.job_id, URL.createObjectURL(state.file));
  } catch (err) {
    $("form-error").textContent = `Could not submit: ${err.message}`;
    $("form-error").hidden = false;
  } finally {
    $("generate").disabled = false;
  }
}

function resetJob(jobId) {
  state.source?.close();
  state.job = jobId;
  state.cards.clear();
  state.size = null;
  $("job").hidden = false;
  $("job-id").textContent = jobId;
  $("notices").replaceChildren();
  $("objects").replaceChildren();
  $("boxes").replaceChildren();
  $("scene-slot").replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "The scene appears when the first object is done." }));
  $("archive").href = `/v1/jobs/${jobId}/archive.zip`;
  $("contact-sheet").hidden = true;
  $("photo-caption").textContent = "Waiting for detections…";
}

function openJob(jobId, photoUrl) {
  resetJob(jobId);
  $("photo").src = photoUrl || `/v1/jobs/${jobId}/input`;
  setStatus("connecting…");
  const source = new EventSource(`/v1/jobs/${jobId}/events`);
  state.source = source;
  const on = (kind, handler) => source.addEventListener(kind, (e) => {
    window.meshpipeStudio.events += 1;
    const event = JSON.parse(e.data);
    handler(event[kind === "object_error" ? "error" : kind], event);
  });
  on("accepted", (a) => { state.size = [a.image_width, a.image_height]; setStatus(`accepted: ${a.image_width}×${a.image_height} photo, seed ${a.seed}`); });
  on("queued", (q) => setStatus(`queued (${q.position} job(s) ahead)`));
  on("detections", showDetections);
  on("progress", showProgress);
  on("result", showResult);
  on("object_error", (e) => finishCard(e.object_index, "failed", `${STAGES[e.stage] || e.stage} failed: ${e.code} ${e.message}`));
  on("skipped", (s) => finishCard(s.object_index, "skipped", `skipped by ${STAGES[s.stage] || s.stage}: ${s.reason}`));
  on("heartbeat", (h) => setStatus(`running… ${Number(h.elapsed_seconds).toFixed(0)} s`));
  on("done", (d) => { source.close(); showDone(d); });
  source.addEventListener("problem", (e) => {
    const problem = JSON.parse(e.data);
    if (problem.status !== 503) { source.close(); setStatus(`stream error: ${problem.detail}`); }
  });
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) setStatus("event stream closed (is the job id right?)"); };
}

function showDetections(d) {
  for (const text of d.notices || []) notice(text);
  const [w, h] = state.size || [$("photo").naturalWidth, $("photo").naturalHeight];
  const svg = $("boxes");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  for (const obj of d.objects) {
    const color = COLORS[obj.object_index % COLORS.length];
    const b = obj.box;
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    Object.entries({ x: b.x1, y: b.y1, width: b.x2 - b.x1, height: b.y2 - b.y1, stroke: color }).forEach(([k, v]) => rect.setAttribute(k, v));
    const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    Object.entries({ x: b.x1 + 4, y: b.y1 + 18, fill: color }).forEach(([k, v]) => label.setAttribute(k, v));
    label.textContent = `${obj.object_index}: ${obj.label} ${(obj.score * 100).toFixed(0)}%`;
    svg.append(rect, label);
    card(obj.object_index, obj.label);
  }
  const filtered = d.category_filtering_applied ? "filtered by your prompt" : "not filtered by category";
  $("photo-caption").textContent = `${d.objects.length} object(s) detected by ${d.backend?.backend || "the detector"} (${filtered})`;
  setStatus(`${d.objects.length} object(s): working…`);
}

function card(index, label) {
  if (state.cards.has(index)) return state.cards.get(index);
  const node = $("card-template").content.firstElementChild.cloneNode(true);
  node.dataset.objectIndex = index;
  node.querySelector(".card-title").textContent = `${index}: ${label || "object"}`;
  node.querySelector(".card-title").style.color = COLORS[index % COLORS.length];
  node.querySelector(".card-state").textContent = "queued";
  const entry = { node, stages: new Map(), resultAt: 0 };
  state.cards.set(index, entry);
  const cards = [...state.cards.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c.node);
  $("objects").replaceChildren(...cards);
  return entry;
}

function showProgress(p) {
  const entry = card(p.object_index);
  const name = STAGES[p.stage] || p.stage;
  let item = entry.stages.get(name);
  if (!item) { item = document.createElement("li"); entry.stages.set(name, item); entry.node.querySelector(".stages").append(item); }
  item.className = p.finished ? "done" : "running";
  item.textContent = p.finished ? `${name} ${Number(p.seconds).toFixed(1)} s` : `${name}…`;
  entry.node.querySelector(".card-state").textContent = p.finished ? `${name} done` : `${name}…`;
}

async function viewer(url, alt, onLoad) {
  if (!(await viewerReady)) return Object.assign(document.createElement("p"), { className: "muted", textContent: "(no 3D viewer)" });
  const mv = document.createElement("model-viewer");
  Object.entries({ src: url, alt, loading: "eager", "interaction-prompt": "none", "camera-controls": "", "touch-action": "pan-y", "shadow-intensity": "0.6", exposure: "1.1" }).forEach(([k, v]) => mv.setAttribute(k, v));
  mv.addEventListener("load", () => { mv.dataset.loaded = "true"; onLoad?.(); }, { once: true });
  mv.addEventListener("error", (e) => { mv.dataset.loaded = "error"; notice(`viewer could not load ${url}: ${e.detail?.type || "error"}`); });
  return mv;
}

function artifactLinks(artifacts) {
  const names = { textured_mesh: "GLB", mesh: "untextured GLB", crop: "crop", matte: "matte" };
  const rank = (a) => (KIND_ORDER.includes(a.kind) ? KIND_ORDER.indexOf(a.kind) : KIND_ORDER.length);
  return [...artifacts].sort((a, b) => rank(a) - rank(b)).map((a) => {
    const text = names[a.kind] || `${a.kind} (${a.relative_path.split(".").pop()})`;
    const link = Object.assign(document.createElement("a"), { href: a.url, textContent: text });
    link.setAttribute("download", "");
    return link;
  });
}

async function showResult(r) {
  const entry = card(r.object_index, r.label);
  entry.resultAt = performance.now();
  const mesh = r.artifacts.find((a) => a.kind === "textured_mesh") || r.artifacts.find((a) => a.kind === "mesh");
  entry.node.classList.add("succeeded");
  entry.node.querySelector(".card-state").textContent = "done";
  entry.node.querySelector(".card-info").textContent = `${r.vertex_count} vertices, ${r.face_count} triangles`;
  entry.node.querySelector(".card-links").replaceChildren(...artifactLinks(r.artifacts));
  if (mesh) {
    const mv = await viewer(mesh.url, `3D model of object ${r.object_index}: ${r.label}`, () => {
      window.meshpipeStudio.loaded += 1;
      window.meshpipeStudio.timings.push({ object: r.object_index, ms: performance.now() - entry.resultAt });
    });
    mv.dataset.objectIndex = r.object_index;
    entry.node.querySelector(".viewer-slot").replaceChildren(mv);
  }
  if (r.scene?.url) showScene(sceneUrl(r.scene));
}

function finishCard(index, kind, text) {
  const entry = card(index);
  for (const item of entry.stages.values()) if (item.className === "running") item.className = kind;
  entry.node.classList.add(kind);
  entry.node.querySelector(".card-state").textContent = kind;
  entry.node.querySelector(".card-info").textContent = text;
  entry.node.querySelector(".viewer-slot").replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: kind }));
}

// The scene is rebuilt in place as objects finish: its URL stays the same, its content (and
// sha256) does not. The version parameter makes the viewer fetch each new scene.
function sceneUrl(artifact) {
  return artifact.sha256 ? `${artifact.url}?v=${artifact.sha256.slice(0, 16)}` : artifact.url;
}

async function showScene(url) {
  const slot = $("scene-slot");
  const current = slot.querySelector("model-viewer");
  if (current) { if (current.getAttribute("src") !== url) { current.dataset.loaded = "false"; current.setAttribute("src", url); current.addEventListener("load", () => { current.dataset.loaded = "true"; }, { once: true }); } return; }
  const mv = await viewer(url, "All objects of the job in place");
  mv.classList.add("scene-viewer");
  slot.replaceChildren(mv);
}

function showDone(d) {
  const s = d.summary;
  const state_ = s.state.replace("JOB_STATE_", "").toLowerCase();
  window.meshpipeStudio.done = { state: state_, scene: Boolean(d.scene?.url) };
  setStatus(`${state_}: ${s.objects_succeeded}/${s.objects_total} object(s) in ${Number(d.total_seconds).toFixed(1)} s${s.error ? ` — ${s.error}` : ""}`);
  if (d.scene?.url) showScene(sceneUrl(d.scene));
  else if (s.objects_succeeded > 1) $("scene-slot").replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "No scene file from the orchestrator for this job." }));
  if (d.contact_sheet?.url) { $("contact-sheet").href = d.contact_sheet.url; $("contact-sheet").hidden = false; }
  loadRecent();
}

async function loadRecent() {
  try {
    const page = await api("/v1/jobs?page_size=12");
    const items = page.jobs.map((j) => {
      const li = document.createElement("li");
      const a = Object.assign(document.createElement("a"), { href: j.links.studio, textContent: j.summary.name || j.job_id });
      a.addEventListener("click", (e) => { e.preventDefault(); history.pushState({}, "", j.links.studio); openJob(j.job_id); });
      const when = new Date(j.summary.created_at * 1000).toLocaleString();
      li.append(a, ` — ${j.state}, ${j.summary.objects_succeeded}/${j.summary.objects_total} object(s), ${when}`);
      return li;
    });
    $("recent").replaceChildren(...items);
    if (!items.length) $("recent").replaceChildren(Object.assign(document.createElement("li"), { className: "muted", textContent: "none yet" }));
  } catch (err) {
    $("recent").replaceChildren(Object.assign(document.createElement("li"), { className: "error", textContent: `could not list jobs: ${err.message}` }));
  }
}

function route() {
  const match = location.pathname.match(/^\/jobs\/([^/]+)$/);
  if (match) openJob(decodeURIComponent(match[1]));
}

wireUpload();
loadRecent();
route();
window.addEventListener("popstate", route);
