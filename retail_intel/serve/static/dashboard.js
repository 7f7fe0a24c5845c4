// retail-intel dashboard: picks a branch and days, draws /report/{branch}, redraws when the data behind it changes.
// The sections are the HTML report's own, rendered by the server; this script only places them.
"use strict";

const params = new URLSearchParams(window.location.search);
// ?refresh=SECONDS sets how often the page checks for new data (default 10 s).
const REFRESH_SECONDS = Math.max(1, Number(params.get("refresh")) || 10);

const $ = (id) => document.getElementById(id);

// What the user asked for: a branch and days; null days mean "the last day with data", which moves on
// by itself as new days arrive.
let wanted = { branch: null, date: null, to: null };
let shownVersion = null; // data_version of the page on screen
let seenVersion = null; // the latest /data-version answer
let refusedAt; // seenVersion when the server refused `wanted` (4xx): not asked again until the data changes
let ticket = 0; // the newest load; older answers are dropped
let loading = false;

class HttpError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body = {};
  try {
    body = await response.json();
  } catch (error) {
    body = {};
  }
  if (!response.ok) {
    throw new HttpError(body.detail || `${response.status} ${response.statusText}`, response.status);
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
  const asked = params.get("branch");
  if (asked && branches.some((branch) => branch.id === asked)) {
    select.value = asked;
  }
  return branches.length;
}

function reportUrl(request) {
  const query = new URLSearchParams();
  if (request.date) query.set("date", request.date);
  if (request.to) query.set("to", request.to);
  const text = query.toString();
  return `/report/${encodeURIComponent(request.branch)}${text ? `?${text}` : ""}`;
}

function setUnlessEditing(input, value) {
  if (document.activeElement !== input) input.value = value;
}

function render(page) {
  $("title").textContent = page.title;
  $("subtitle").textContent = page.subtitle;
  setUnlessEditing($("date"), page.first_day);
  setUnlessEditing($("to"), page.last_day);
  const slots = page.section_order.map((name) => {
    const slot = document.createElement("div");
    slot.className = "slot";
    slot.dataset.section = name;
    // Server-rendered fragments: every value in them is escaped by the server.
    slot.innerHTML = page.sections[name];
    return slot;
  });
  $("sections").replaceChildren(...slots);
  shownVersion = page.data_version;
  const query = new URLSearchParams({ branch: page.branch_id });
  if (wanted.date) {
    query.set("date", page.first_day);
    query.set("to", page.last_day);
  }
  if (params.get("refresh")) query.set("refresh", params.get("refresh"));
  window.history.replaceState(null, "", `?${query}`);
  document.body.dataset.branch = page.branch_id;
  document.body.dataset.version = page.data_version;
}

async function load(request) {
  wanted = request;
  const mine = ++ticket;
  loading = true;
  $("sections").classList.add("loading");
  setStatus("Drawing…");
  try {
    const page = await getJSON(reportUrl(request));
    if (mine !== ticket) return; // a newer request was made meanwhile
    render(page);
    refusedAt = undefined;
    showProblem("");
    setStatus(`Updated ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    if (mine !== ticket) return;
    // A refused request (bad days, unknown branch) is not repeated until the data changes;
    // a server or network failure is retried on the next check.
    refusedAt = error instanceof HttpError && error.status < 500 ? seenVersion : undefined;
    showProblem(error.message);
    setStatus("Not updated");
  } finally {
    if (mine === ticket) {
      loading = false;
      $("sections").classList.remove("loading");
    }
  }
}

function fromForm(withDays) {
  const branch = $("branch").value;
  if (!withDays) return { branch, date: null, to: null };
  return { branch, date: $("date").value || null, to: $("to").value || null };
}

async function checkForNewData() {
  try {
    if (wanted.branch === null) return;
    const { version } = await getJSON(`/data-version?branch=${encodeURIComponent(wanted.branch)}`);
    seenVersion = version;
    if (loading || version === shownVersion || version === refusedAt) return;
    await load(wanted);
  } catch (error) {
    setStatus(`Cannot reach the server (${error.message}); trying again`);
  } finally {
    window.setTimeout(checkForNewData, REFRESH_SECONDS * 1000);
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
    showProblem(`${error.message}; trying again in ${REFRESH_SECONDS} s`);
    window.setTimeout(start, REFRESH_SECONDS * 1000);
    return;
  }
  showProblem("");
  if (params.get("date")) $("date").value = params.get("date");
  if (params.get("to")) $("to").value = params.get("to");
  $("branch").addEventListener("change", () => load(fromForm(false)));
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    load(fromForm(true));
  });
  await load(fromForm(Boolean(params.get("date") || params.get("to"))));
  window.setTimeout(checkForNewData, REFRESH_SECONDS * 1000);
}

start();
