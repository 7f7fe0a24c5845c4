// retail-intel setup: draw a camera's shapes over its picture and save them to branches.yaml.
//
// The page knows no shape kind by name: it builds one row per kind the server
// sends (/api/setup "kinds": name, label, geometries, required, hint) and
// draws each shape by its geometry (rect, polygon, line). Points are pixels of
// the camera picture, whatever size the picture is shown at.
"use strict";

const COLOURS = ["#ffd600", "#e53935", "#00b8d4", "#7cb342", "#ab47bc", "#ff7043"];
const token = document.querySelector('meta[name="setup-token"]').content;
const picture = document.getElementById("picture");
const overlay = document.getElementById("overlay");
const ctx = overlay.getContext("2d");
const statusLine = document.getElementById("status");

const state = { kinds: [], shapes: {}, drawing: null, width: 0, height: 0 };

function colourOf(kindName) {
  const index = state.kinds.findIndex((k) => k.name === kindName);
  return COLOURS[index % COLOURS.length];
}

function say(text, kind) {
  statusLine.textContent = text;
  statusLine.className = kind || "";
}

// ---- drawing -------------------------------------------------------------------------------

function scale() {
  return overlay.width / state.width;
}

function toPicture(event) {
  const box = overlay.getBoundingClientRect();
  const x = ((event.clientX - box.left) / box.width) * state.width;
  const y = ((event.clientY - box.top) / box.height) * state.height;
  const clamp = (v, hi) => Math.min(hi, Math.max(0, Math.round(v)));
  return [clamp(x, state.width), clamp(y, state.height)];
}

function path(points, close) {
  const s = scale();
  ctx.beginPath();
  points.forEach(([x, y], i) => (i ? ctx.lineTo(x * s, y * s) : ctx.moveTo(x * s, y * s)));
  if (close) ctx.closePath();
}

function drawShape(shape, colour) {
  const s = scale();
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour + "33";
  ctx.lineWidth = 3;
  if (shape.geometry === "rect") {
    const [[ax, ay], [bx, by]] = shape.points;
    ctx.fillRect(Math.min(ax, bx) * s, Math.min(ay, by) * s, Math.abs(bx - ax) * s, Math.abs(by - ay) * s);
    ctx.strokeRect(Math.min(ax, bx) * s, Math.min(ay, by) * s, Math.abs(bx - ax) * s, Math.abs(by - ay) * s);
  } else if (shape.geometry === "polygon") {
    path(shape.points, shape.points.length > 2);
    if (shape.points.length > 2) ctx.fill();
    ctx.stroke();
    shape.points.forEach(([x, y]) => ctx.fillRect(x * s - 3, y * s - 3, 6, 6));
  } else if (shape.geometry === "line" && shape.points.length === 2) {
    path(shape.points, false);
    ctx.stroke();
    drawInSide(shape, colour);
  }
}

// An arrow from the line's middle towards its in side. In y-down picture
// coordinates the left of the direction start->end is (dy, -dx), as in
// retail_intel.movements.geometry.
function drawInSide(shape, colour) {
  const s = scale();
  const [[ax, ay], [bx, by]] = shape.points;
  const length = Math.hypot(bx - ax, by - ay) || 1;
  const sign = shape.in_side === "right" ? -1 : 1;
  const nx = (sign * (by - ay)) / length;
  const ny = (sign * -(bx - ax)) / length;
  const mx = ((ax + bx) / 2) * s;
  const my = ((ay + by) / 2) * s;
  const tx = mx + nx * 40;
  const ty = my + ny * 40;
  ctx.beginPath();
  ctx.moveTo(mx, my);
  ctx.lineTo(tx, ty);
  ctx.stroke();
  ctx.beginPath();
  ctx.arc(tx, ty, 5, 0, 2 * Math.PI);
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.font = "bold 14px system-ui, sans-serif";
  ctx.fillText("in", tx + nx * 10 - 6, ty + ny * 10 + 5);
}

function redraw() {
  overlay.width = picture.clientWidth;
  overlay.height = picture.clientHeight;
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  if (!state.width) return;
  for (const kind of state.kinds) {
    const shape = state.shapes[kind.name];
    if (shape && !(state.drawing && state.drawing.kind === kind.name)) drawShape(shape, colourOf(kind.name));
  }
  if (state.drawing && state.drawing.points.length) drawShape(state.drawing, colourOf(state.drawing.kind));
}

// ---- the rows of kinds ----------------------------------------------------------------------

function describe(shape) {
  if (!shape) return "not drawn";
  if (shape.geometry === "polygon") return `polygon, ${shape.points.length} points`;
  if (shape.geometry === "line") return `line, in side ${shape.in_side}`;
  return "rectangle";
}

function button(text, onClick, dataAction) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.dataset.action = dataAction;
  b.addEventListener("click", onClick);
  return b;
}

function renderKinds() {
  const list = document.getElementById("kinds");
  list.replaceChildren();
  for (const kind of state.kinds) {
    const shape = state.shapes[kind.name];
    const item = document.createElement("li");
    item.dataset.kind = kind.name;
    item.dataset.shape = shape ? JSON.stringify(shape) : "";
    item.style.setProperty("--colour", colourOf(kind.name));
    if (kind.required && !shape) item.classList.add("missing");
    const stateText = document.createElement("span");
    stateText.className = "state";
    stateText.textContent = describe(shape);
    const label = document.createElement("div");
    label.className = "label";
    label.textContent = kind.label + (kind.required ? "" : " (optional)");
    const hint = document.createElement("div");
    hint.className = "hint";
    hint.textContent = kind.hint;
    item.append(stateText, label, hint);
    for (const geometry of kind.geometries) {
      const text = { rect: "Draw rectangle", polygon: "Draw polygon", line: "Draw line" }[geometry];
      item.append(button(text, () => startDrawing(kind, geometry), `draw-${geometry}`));
    }
    if (kind.geometries.includes("line") && shape) {
      item.append(button("Swap in side", () => swapSide(kind.name), "swap"));
    }
    if (!kind.required && shape) {
      item.append(button("Clear", () => clearShape(kind.name), "clear"));
    }
    list.append(item);
  }
}

function swapSide(kindName) {
  const shape = state.shapes[kindName];
  shape.in_side = shape.in_side === "left" ? "right" : "left";
  changed();
}

function clearShape(kindName) {
  delete state.shapes[kindName];
  changed();
}

function changed() {
  renderKinds();
  redraw();
  say("Not saved yet.", "");
}

// ---- drawing with the pointer -----------------------------------------------------------------

function startDrawing(kind, geometry) {
  state.drawing = { kind: kind.name, geometry, points: [], in_side: "left" };
  const previous = state.shapes[kind.name];
  if (geometry === "line" && previous && previous.in_side) state.drawing.in_side = previous.in_side;
  document.getElementById("drawing").hidden = geometry !== "polygon";
  say(
    geometry === "polygon"
      ? `${kind.label}: click each corner, then Finish polygon.`
      : `${kind.label}: press, drag and release on the picture.`,
    "",
  );
  redraw();
}

function finishDrawing() {
  const drawing = state.drawing;
  if (!drawing) return;
  const needed = drawing.geometry === "polygon" ? 3 : 2;
  if (drawing.points.length < needed) {
    say(`A ${drawing.geometry} needs at least ${needed} points.`, "error");
    return;
  }
  const shape = { kind: drawing.kind, geometry: drawing.geometry, points: drawing.points };
  if (drawing.geometry === "line") shape.in_side = drawing.in_side;
  state.shapes[drawing.kind] = shape;
  cancelDrawing();
  changed();
}

function cancelDrawing() {
  state.drawing = null;
  document.getElementById("drawing").hidden = true;
  redraw();
}

overlay.addEventListener("pointerdown", (event) => {
  const drawing = state.drawing;
  if (!drawing) return;
  event.preventDefault();
  const point = toPicture(event);
  if (drawing.geometry === "polygon") {
    drawing.points.push(point);
  } else {
    overlay.setPointerCapture(event.pointerId);
    drawing.points = [point, point];
    drawing.dragging = true;
  }
  redraw();
});

overlay.addEventListener("pointermove", (event) => {
  const drawing = state.drawing;
  if (!drawing || !drawing.dragging) return;
  drawing.points[1] = toPicture(event);
  redraw();
});

overlay.addEventListener("pointerup", (event) => {
  const drawing = state.drawing;
  if (!drawing || !drawing.dragging) return;
  drawing.points[1] = toPicture(event);
  drawing.dragging = false;
  const [[ax, ay], [bx, by]] = drawing.points;
  const tooSmall = drawing.geometry === "rect" ? ax === bx || ay === by : ax === bx && ay === by;
  if (tooSmall) {
    say("Drag further: that shape has no size.", "error");
    drawing.points = [];
    redraw();
    return;
  }
  finishDrawing();
});

document.getElementById("finish").addEventListener("click", finishDrawing);
document.getElementById("cancel").addEventListener("click", cancelDrawing);
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && state.drawing && state.drawing.geometry === "polygon") finishDrawing();
  if (event.key === "Escape" && state.drawing) cancelDrawing();
});
window.addEventListener("resize", redraw);

// ---- talking to the server --------------------------------------------------------------------

function apply(data) {
  state.kinds = data.kinds;
  state.width = data.picture.width;
  state.height = data.picture.height;
  state.shapes = {};
  for (const shape of data.shapes) state.shapes[shape.kind] = shape;
  document.getElementById("title").textContent = `branch ${data.branch}, camera ${data.camera}`;
  document.getElementById("source").textContent =
    `${data.picture.source}, ${data.picture.width}x${data.picture.height} px`;
  document.getElementById("file").textContent = data.file;
  renderKinds();
  redraw();
}

async function load() {
  const response = await fetch("/api/setup", { cache: "no-store" });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  apply(data);
}

async function save() {
  say("Saving...", "");
  const shapes = Object.values(state.shapes);
  const response = await fetch("/api/shapes", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Setup-Token": token },
    body: JSON.stringify({ shapes }),
  });
  const data = await response.json();
  if (!response.ok) {
    const details = (data.problems || []).filter((p) => p !== data.error);
    say([data.error, ...details].join(" "), "error");
    return;
  }
  apply(data);
  say(`Saved to ${data.file}.`, "ok");
}

document.getElementById("save").addEventListener("click", () => save().catch((e) => say(String(e), "error")));
document.getElementById("reload").addEventListener("click", () =>
  load()
    .then(() => say("Reloaded from the file.", ""))
    .catch((e) => say(String(e), "error")),
);

function start() {
  load()
    .then(() => say("Pick a shape to draw.", ""))
    .catch((e) => say(String(e), "error"));
}

if (picture.complete && picture.naturalWidth) start();
else picture.addEventListener("load", start, { once: true });
