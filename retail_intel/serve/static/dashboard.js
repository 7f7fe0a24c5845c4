// retail-intel dashboard: picks a branch and days, draws /report/{branch}, redraws when /data-version changes.
// The sections are the HTML report's own, rendered by the server; this script only places them.
"use strict";

const params = new URLSearchParams(window.location.search);
// ?refresh=SECONDS sets how often the page checks for new data (default 10 s).
const REFRESH_SECONDS = Math.max(1, Number(params.get("refresh")) || 10);

const $ = (id) => document.getElementById(id);
let shownVersion = null;
let pending = 0;

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body = {};
  try {
    body = await response.json();
  } catch (error) {
    body = {};
  }
  if (!response.ok) {
    throw new Error(body.detail || `${response.status} ${response.statusText}`);
  }
  return body;
}

function showProblem(message) {
  const box = $("problem");
  box.textContent = message || "";
  box.hidden = !message;
}

function setStatus(text) {
  $("status").textContent = text;
}

async function loadBranches() {
  const branches = await getJSON("/branches");
  const select = $("branch");
  select.replaceChildren(
    ...branches.map((branch) => {
      const option = document.createElement("option");
      option.value = branch.id;
      option.textContent = `${branch.name} (${branch.id})`;
      return option;
    }),
  );
  const wanted = params.get("branch");
  if (wanted && branches.some((branch) => branch.id === wanted)) {
    select.value = wanted;
  }
  return branches.length;
}

function reportUrl(withDays) {
  const query = new URLSearchParams();
  if (withDays && $("date").value) query.set("date", $("date").value);
  if (withDays && $("to").value) query.set("to", $("to").value);
  const text = query.toString();
  return `/report/${encodeURIComponent($("branch").value)}${text ? `?${text}` : ""}`;
}

function render(page) {
  $("title").textContent = page.title;
  $("subtitle").textContent = page.subtitle;
  $("date").value = page.first_day;
  $("to").value = page.last_day;
  const main = $("sections");
  const slots = page.section_order.map((name) => {
    const slot = document.createElement("div");
    slot.className = "slot";
    slot.dataset.section = name;
    // Server-rendered fragments: every value in them is escaped by the server.
    slot.innerHTML = page.sections[name];
    return slot;
  });
  main.replaceChildren(...slots);
  shownVersion = page.data_version;
  const query = new URLSearchParams({ branch: page.branch_id, date: page.first_day, to: page.last_day });
  if (params.get("refresh")) query.set("refresh", params.get("refresh"));
  window.history.replaceState(null, "", `?${query}`);
  document.body.dataset.branch = page.branch_id;
  document.body.dataset.version = page.data_version;
}

async function load(withDays) {
  const ticket = ++pending;
  $("sections").classList.add("loading");
  setStatus("Drawing…");
  try {
    const page = await getJSON(reportUrl(withDays));
    if (ticket !== pending) return; // a newer request has been made meanwhile
    render(page);
    showProblem("");
    setStatus(`Updated ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    if (ticket !== pending) return;
    showProblem(error.message);
    setStatus("Not updated");
  } finally {
    if (ticket === pending) $("sections").classList.remove("loading");
  }
}

async function checkForNewData() {
  if (shownVersion === null || pending === 0) return;
  try {
    const { version } = await getJSON("/data-version");
    if (version !== shownVersion) await load(true);
  } catch (error) {
    setStatus(`Cannot reach the server: ${error.message}`);
  }
}

async function start() {
  try {
    if ((await loadBranches()) === 0) {
      showProblem("No branches are configured: add one to branches.yaml.");
      setStatus("");
      return;
    }
  } catch (error) {
    showProblem(error.message);
    return;
  }
  if (params.get("date")) $("date").value = params.get("date");
  if (params.get("to")) $("to").value = params.get("to");
  $("branch").addEventListener("change", () => load(false));
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    load(true);
  });
  await load(Boolean(params.get("date")));
  window.setInterval(checkForNewData, REFRESH_SECONDS * 1000);
}

start();
