// Lookalike page: send the query image to the JSON API and render the nearest neighbours.
(function () {
  "use strict";
  const main = document.querySelector("main");
  const maxBytes = parseFloat(main.dataset.maxUploadMb) * 1024 * 1024;
  const dropzone = document.getElementById("dropzone");
  const fileInput = document.getElementById("file-input");
  const kInput = document.getElementById("k-input");
  const statusEl = document.getElementById("status");
  const results = document.getElementById("results");
  const queryFigure = document.getElementById("query");
  const queryImage = document.getElementById("query-image");
  const queryCaption = document.getElementById("query-caption");
  let lastQuery = null; // {kind: "file", file} or {kind: "id", id, uri}

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", Boolean(isError));
  }

  // The preview stays hidden until it loads: a file the browser cannot draw shows no
  // broken-image icon, only its name.
  function showQuery(src, caption) {
    const old = queryImage.getAttribute("src");
    if (old && old.startsWith("blob:")) URL.revokeObjectURL(old);
    queryImage.hidden = true;
    queryImage.src = src;
    queryCaption.textContent = caption;
    queryFigure.hidden = false;
  }
  queryImage.addEventListener("load", function () { queryImage.hidden = false; });
  queryImage.addEventListener("error", function () { queryImage.hidden = true; });

  async function readJson(response) {
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const message = body && body.error ? body.error.message : response.statusText;
      throw new Error(message + " (HTTP " + response.status + ")");
    }
    return body;
  }

  function k() {
    const value = parseInt(kInput.value, 10);
    return Number.isFinite(value) && value > 0 ? value : 12;
  }

  async function searchFile(file) {
    if (!file) return;
    if (file.size > maxBytes) {
      setStatus("That file is larger than the upload limit.", true);
      return;
    }
    lastQuery = { kind: "file", file: file };
    announce("lookalike:query", lastQuery);
    showQuery(URL.createObjectURL(file), file.name);
    const form = new FormData();
    form.append("image", file);
    form.append("k", String(k()));
    setStatus("Searching…");
    try {
      render(await readJson(await window.lookalikeFetch("api/v1/search", { method: "POST", body: form })));
    } catch (err) {
      results.replaceChildren();
      setStatus(err.message, true);
    }
  }

  async function searchById(id, uri) {
    lastQuery = { kind: "id", id: id, uri: uri };
    announce("lookalike:query", lastQuery);
    showQuery("api/v1/images/" + id + "/thumbnail?size=512", uri);
    setStatus("Searching…");
    try {
      render(await readJson(await window.lookalikeFetch("api/v1/images/" + id + "/similar?k=" + k())));
    } catch (err) {
      results.replaceChildren();
      setStatus(err.message, true);
    }
  }

  // Mark a result right or wrong for the current query; stored for `lookalike train --feedback`.
  function feedbackButtons(resultId) {
    const box = document.createElement("div");
    box.className = "feedback";
    [["right", "\u2713", "Right: this looks like my image"],
     ["wrong", "\u2717", "Wrong: this does not match"]].forEach(function (spec) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "mark " + spec[0];
      b.dataset.verdict = spec[0];
      b.textContent = spec[1];
      b.title = spec[2];
      b.setAttribute("aria-label", spec[2]);
      b.addEventListener("click", function () { sendFeedback(resultId, spec[0], box); });
      box.append(b);
    });
    return box;
  }

  async function sendFeedback(resultId, verdict, box) {
    if (!lastQuery) return;
    const form = new FormData();
    form.append("result_id", String(resultId));
    form.append("verdict", verdict);
    if (lastQuery.kind === "file") form.append("image", lastQuery.file);
    else form.append("query_id", String(lastQuery.id));
    try {
      await readJson(await window.lookalikeFetch("api/v1/feedback", { method: "POST", body: form }));
      box.dataset.marked = verdict;
      setStatus("Thanks: marked " + verdict + ".");
      announce("lookalike:marked", { id: resultId, verdict: verdict });
    } catch (err) {
      setStatus(err.message, true);
    }
  }

  // refine.js (regions, relevance feedback) listens to these and re-renders through `render`.
  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function render(body) {
    const items = body.results.map(function (hit, rank) {
      const li = document.createElement("li");
      li.className = "result";
      li.dataset.id = String(hit.id);
      const button = document.createElement("button");
      button.type = "button";
      button.className = "open";
      button.title = "Search by this image";
      const img = document.createElement("img");
      img.loading = "lazy";
      img.alt = hit.uri;  // the name under its source: the API never sends a server path
      img.src = "api/v1/images/" + hit.id + "/thumbnail?size=256";
      img.addEventListener("error", function () { img.classList.add("missing"); });
      const meta = document.createElement("div");
      meta.className = "meta";
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = "#" + (rank + 1) + "  " + hit.score.toFixed(3);
      const uri = document.createElement("span");
      uri.className = "uri";
      uri.textContent = hit.uri;
      uri.title = hit.uri;
      meta.append(score, uri);
      if (hit.match !== null && hit.match !== undefined) {
        const verdict = document.createElement("span");
        verdict.className = "verdict " + (hit.match ? "same" : "different");
        verdict.textContent = hit.match ? "match" : "no match";
        verdict.title = "Decided by the calibrated threshold";
        meta.append(verdict);
      }
      button.append(img, meta);
      button.addEventListener("click", function () { searchById(hit.id, hit.uri); });
      li.append(button, feedbackButtons(hit.id));
      return li;
    });
    results.replaceChildren.apply(results, items);
    document.dispatchEvent(new CustomEvent("lookalike:results", { detail: { query: lastQuery } }));
    setStatus(body.results.length + " results in " + body.took_ms.toFixed(1) + " ms");
  }

  window.lookalikeSearch = {
    query: function () { return lastQuery; },
    k: k, render: render, readJson: readJson, setStatus: setStatus,
  };

  fileInput.addEventListener("change", function () { searchFile(fileInput.files[0]); });
  kInput.addEventListener("change", function () {
    if (lastQuery && lastQuery.kind === "file") searchFile(lastQuery.file);
    if (lastQuery && lastQuery.kind === "id") searchById(lastQuery.id, lastQuery.uri);
  });
  dropzone.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); fileInput.click(); }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) { event.preventDefault(); dropzone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) { event.preventDefault(); dropzone.classList.remove("over"); });
  });
  dropzone.addEventListener("drop", function (event) {
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) searchFile(file);
  });

  // Live progress of running indexing jobs: one bar per job, refreshed every second.
  const jobsEl = document.getElementById("jobs");

  function jobLine(job) {
    const row = document.createElement("div");
    row.className = "job";
    row.dataset.id = String(job.id);
    const label = document.createElement("span");
    label.className = "job-label";
    label.textContent = "Indexing job " + job.id;
    const bar = document.createElement("progress");
    bar.max = Math.max(job.total, 1);
    bar.value = job.processed;
    const text = document.createElement("span");
    text.className = "job-text";
    const eta = job.eta_s === null ? "ETA …" : "ETA " + Math.round(job.eta_s) + " s";
    text.textContent = job.processed + " / " + job.total + " · " +
      job.rate.toFixed(1) + " img/s · " + eta + (job.failed ? " · " + job.failed + " failed" : "");
    row.append(label, bar, text);
    return row;
  }

  async function pollJobs() {
    try {
      const body = await readJson(await window.lookalikeFetch("api/v1/jobs?status=running"));
      jobsEl.replaceChildren.apply(jobsEl, body.jobs.map(jobLine));
      jobsEl.hidden = body.jobs.length === 0;
    } catch (err) {
      jobsEl.hidden = true;
    }
    setTimeout(pollJobs, 1000);
  }
  pollJobs();

  function showVerdictNote(calibration) {
    const note = document.getElementById("verdict-note");
    note.textContent = calibration
      ? "“match” = score ≥ " + calibration.threshold.toFixed(3) + ", calibrated on " +
        (calibration.source === "catalog" ? "your labelled images" : "labels the model never trained on") +
        " (about " + (100 * calibration.promised_far).toFixed(1) + "% of different pairs pass)."
      : "Ranked by similarity only: no match verdicts, as no calibration fits this catalog " +
        "(run lookalike calibrate --data DIR on labelled images, or serve a trained model).";
    note.hidden = false;
  }

  window.lookalikeFetch("api/v1/health").then(function (r) { return r.json(); }).then(function (h) {
    showVerdictNote(h.calibration);
    document.getElementById("health").textContent =
      h.index.ready ? h.index.size + " images indexed · " + h.index.model_version : "index loading…";
    showModelCard(h.model);
  }).catch(function () {});

  // Which model serves, how it was trained and on what (its checkpoint's card).
  function showModelCard(model) {
    const card = document.getElementById("model-card");
    if (!model) return;
    const how = model.objective ? " · trained with " + model.objective : "";
    card.textContent = "Model: " + model.description + how +
      (model.trained_on ? " · trained on " + model.trained_on : "");
    card.title = "model version " + model.version;
    card.hidden = false;
  }
})();
