// Lookalike tools: the tab bar and the Compare, Identify, Novelty and Duplicates panels.
(function () {
  "use strict";
  const main = document.querySelector("main");
  const maxBytes = parseFloat(main.dataset.maxUploadMb) * 1024 * 1024;
  const $ = function (id) { return document.getElementById(id); };

  // ---- shared helpers -------------------------------------------------------------------

  // Fetch JSON; any failure (no connection, HTTP error, unreadable body) throws a readable Error.
  async function api(url, options) {
    let response;
    try {
      response = await window.lookalikeFetch(url, options);
    } catch (err) {
      throw new Error("Could not reach the server (" + err.message + ").");
    }
    const body = await response.json().catch(function () { return null; });
    if (!response.ok) {
      const message = body && body.error ? body.error.message : response.statusText || "Request failed";
      throw new Error(message + " (HTTP " + response.status + ")");
    }
    if (body === null) throw new Error("The server sent a reply that is not JSON.");
    return body;
  }

  function statusLine(el) {
    return function (text, isError) {
      el.textContent = text;
      el.classList.toggle("error", Boolean(isError));
    };
  }

  // Each call returns a check that stays true only until the next call: drops stale replies.
  function ticketer() {
    let last = 0;
    return function () {
      const mine = ++last;
      return function () { return mine === last; };
    };
  }

  function fixed(value, digits) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(digits || 3);
  }

  function tooBig(file, setStatus) {
    if (file.size <= maxBytes) return false;
    setStatus("That file is larger than the upload limit.", true);
    return true;
  }

  function thumbnail(id, uri) {
    const img = document.createElement("img");
    img.loading = "lazy";
    img.src = "api/v1/images/" + id + "/thumbnail?size=128";
    img.alt = uri || "catalog image " + id;
    img.title = uri || "";
    img.addEventListener("error", function () { img.classList.add("missing"); });
    img.dataset.id = String(id);
    return img;
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // A label.dropzone with a file input inside: click, keyboard or drop; shows a preview.
  function dropZone(zone, onFile) {
    const input = zone.querySelector("input[type=file]");
    const preview = zone.querySelector("img.zone-preview");
    function take(file) {
      if (!file) return;
      if (preview) {  // shown once it loads: no broken-image icon for a file it cannot draw
        if (preview.src) URL.revokeObjectURL(preview.src);
        preview.hidden = true;
        zone.classList.remove("filled");
        preview.src = URL.createObjectURL(file);
      }
      onFile(file);
    }
    if (preview) {
      preview.addEventListener("load", function () {
        preview.hidden = false;
        zone.classList.add("filled");
      });
      preview.addEventListener("error", function () { preview.hidden = true; });
    }
    input.addEventListener("change", function () { take(input.files[0]); });
    zone.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      take(event.dataTransfer && event.dataTransfer.files[0]);
    });
  }

  // ---- tabs ----------------------------------------------------------------------------

  const tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  const onShow = {};

  function selectTab(tab, focus) {
    tabs.forEach(function (t) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) tab.focus();
    const show = onShow[tab.dataset.tab];
    if (show) show();
  }

  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { selectTab(tab, false); });
    tab.addEventListener("keydown", function (event) {
      const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      selectTab(tabs[(moves[event.key] + tabs.length) % tabs.length], true);
    });
  });

  // ---- galleries (shared by Identify and Novelty) --------------------------------------

  const identifyGallery = $("identify-gallery");
  const noveltyGallery = $("novelty-gallery");
  let galleries = [];

  function fillSelect(select, names, keepFirst) {
    const previous = select.value;
    const options = names.map(function (name) {
      const option = element("option", "", name);
      option.value = name;
      return option;
    });
    const head = keepFirst ? [select.options[0]] : [];
    if (!keepFirst && names.length === 0) {
      const none = element("option", "", "no galleries yet: enrol an image below");
      none.value = "";
      head.push(none);
    }
    select.replaceChildren.apply(select, head.concat(options));
    if (names.indexOf(previous) >= 0) select.value = previous;
  }

  async function loadGalleries(setStatus, select) {
    try {
      galleries = (await api("api/v1/galleries")).galleries;
    } catch (err) {
      setStatus("Could not load the galleries: " + err.message, true);
      return;
    }
    const names = galleries.map(function (g) { return g.name; });
    fillSelect(identifyGallery, names, false);
    fillSelect(noveltyGallery, names, true);
    if (select) identifyGallery.value = select;
    showGallerySummary();
  }

  // ---- Compare -------------------------------------------------------------------------

  const compare = { a: null, b: null, ticket: ticketer(), status: statusLine($("compare-status")) };

  async function runCompare() {
    if (!compare.a || !compare.b) {
      compare.status("Choose " + (compare.a || compare.b ? "the other image." : "two images."));
      return;
    }
    const fresh = compare.ticket();
    const form = new FormData();
    form.append("image_a", compare.a);
    form.append("image_b", compare.b);
    const threshold = $("compare-threshold").value.trim();
    if (threshold !== "") form.append("threshold", threshold);
    compare.status("Comparing…");
    try {
      const body = await api("api/v1/compare", { method: "POST", body: form });
      if (!fresh()) return;
      showCompare(body);
      document.dispatchEvent(new CustomEvent("lookalike:compared", { detail: { a: compare.a, b: compare.b } }));
      compare.status("Compared with model " + body.model + " (" + body.metric + ").");
    } catch (err) {
      if (!fresh()) return;
      $("compare-result").hidden = true;
      compare.status(err.message, true);
    }
  }

  function showCompare(body) {
    const verdict = $("compare-verdict");
    const kind = body.same === true ? "same" : body.same === false ? "different" : "none";
    verdict.dataset.verdict = kind;
    verdict.textContent = { same: "SAME", different: "DIFFERENT", none: "Not calibrated" }[kind];
    $("compare-hint").hidden = kind !== "none";
    $("compare-similarity").textContent = fixed(body.similarity);
    $("compare-distance").textContent = fixed(body.distance);
    $("compare-threshold-used").textContent = body.threshold === null
      ? "none" : fixed(body.threshold, 4) + " (" + body.threshold_source + ")";
    $("compare-result").hidden = false;
  }

  [["a", "compare-a-zone"], ["b", "compare-b-zone"]].forEach(function (spec) {
    dropZone($(spec[1]), function (file) {
      if (tooBig(file, compare.status)) return;
      compare[spec[0]] = file;
      runCompare();
    });
  });
  $("compare-threshold").addEventListener("change", function () {
    if (compare.a && compare.b) runCompare();
  });

  // ---- Identify ------------------------------------------------------------------------

  const identify = { file: null, ticket: ticketer(), status: statusLine($("identify-status")) };

  function showGallerySummary() {
    const gallery = galleries.filter(function (g) { return g.name === identifyGallery.value; })[0];
    $("enrol-gallery").value = gallery ? gallery.name : $("enrol-gallery").value;
    if (!gallery) { $("gallery-summary").textContent = ""; return; }
    const labels = Object.keys(gallery.labels).map(function (l) { return l + " ×" + gallery.labels[l]; });
    $("gallery-summary").textContent = gallery.items + " references (" + labels.join(", ") + ") · " +
      gallery.distance + " · threshold " + (gallery.threshold === null ? "auto" : gallery.threshold);
  }

  async function enrol(event) {
    event.preventDefault();
    const file = $("enrol-file").files[0];
    const name = $("enrol-gallery").value.trim();
    if (!file || !name) { identify.status("Give a gallery name, a label and an image.", true); return; }
    if (tooBig(file, identify.status)) return;
    const form = new FormData();
    form.append("image", file);
    form.append("label", $("enrol-label").value.trim());
    identify.status("Enrolling…");
    try {
      const item = await api("api/v1/galleries/" + encodeURIComponent(name) + "/items",
        { method: "POST", body: form });
      identify.status("Enrolled “" + item.label + "” in " + name + ".");
      $("enrol-label").value = "";
      $("enrol-file").value = "";
      await loadGalleries(identify.status, name);
    } catch (err) {
      identify.status(err.message, true);
    }
  }

  async function runIdentify() {
    const name = identifyGallery.value;
    if (!identify.file) return;
    if (!name) { identify.status("Choose a gallery first, or enrol an image to create one.", true); return; }
    const fresh = identify.ticket();
    const form = new FormData();
    form.append("image", identify.file);
    identify.status("Identifying…");
    try {
      const body = await api("api/v1/galleries/" + encodeURIComponent(name) + "/identify",
        { method: "POST", body: form });
      if (!fresh()) return;
      showIdentity(body);
      identify.status("Identified against " + name + " with model " + body.model + ".");
    } catch (err) {
      if (!fresh()) return;
      $("identify-result").hidden = true;
      identify.status(err.message, true);
    }
  }

  function showIdentity(body) {
    const label = $("identify-label");
    const hint = $("identify-hint");
    label.dataset.known = body.known === null ? "none" : String(body.known);
    label.textContent = body.known ? body.label : body.known === false ? "Unknown" : body.best_label;
    hint.textContent = body.known === null
      ? "Nearest label. Known-or-unknown is not decided: no threshold fits this gallery (enrol two " +
        "references of a label, or run lookalike calibrate --data DIR)."
      : body.known === false ? "Below the threshold; the nearest label is " + body.best_label + "." : "";
    hint.hidden = !hint.textContent;
    $("identify-score").textContent = fixed(body.score);
    $("identify-threshold").textContent = body.threshold === null
      ? "none" : fixed(body.threshold, 4) + " (" + body.threshold_source + ")";
    const rows = body.candidates.map(function (c) {
      const li = element("li", "candidate");
      li.dataset.label = c.label;
      li.append(element("span", "candidate-label", c.label), element("span", "score", fixed(c.score)));
      return li;
    });
    $("identify-candidates").replaceChildren.apply($("identify-candidates"), rows);
    $("identify-result").hidden = false;
  }

  $("enrol-form").addEventListener("submit", enrol);
  identifyGallery.addEventListener("change", function () { showGallerySummary(); runIdentify(); });
  dropZone($("identify-zone"), function (file) {
    if (tooBig(file, identify.status)) return;
    identify.file = file;
    runIdentify();
  });
  onShow.identify = function () { loadGalleries(identify.status); };

  // ---- Novelty -------------------------------------------------------------------------

  const novelty = { file: null, ticket: ticketer(), status: statusLine($("novelty-status")) };

  async function runNovelty() {
    if (!novelty.file) return;
    const fresh = novelty.ticket();
    const form = new FormData();
    form.append("image", novelty.file);
    if (noveltyGallery.value) form.append("gallery", noveltyGallery.value);
    novelty.status("Scoring…");
    try {
      const body = await api("api/v1/anomaly", { method: "POST", body: form });
      if (!fresh()) return;
      showNovelty(body);
      novelty.status("Threshold: the " + body.percentile + "th percentile of " +
        body.calibrated_on + " normal images (model " + body.model + ").");
    } catch (err) {
      if (!fresh()) return;
      $("novelty-result").hidden = true;
      novelty.status(err.message, true);
    }
  }

  function neighbourItem(n) {
    const li = element("li", "neighbour");
    if (n.id !== undefined) { li.dataset.id = String(n.id); li.append(thumbnail(n.id, n.uri)); }
    else li.append(element("span", "candidate-label", n.label));
    li.append(element("span", "score", fixed(n.score)));
    return li;
  }

  function showNovelty(body) {
    const verdict = $("novelty-verdict");
    verdict.dataset.anomaly = String(body.is_anomaly);
    verdict.textContent = body.is_anomaly ? "Looks novel" : "Looks normal";
    $("novelty-score").textContent = fixed(body.score, 4);
    $("novelty-threshold").textContent = fixed(body.threshold, 4);
    $("novelty-reference").textContent = body.reference + " (k = " + body.k + ")";
    const list = $("novelty-neighbours");
    list.replaceChildren.apply(list, body.neighbours.map(neighbourItem));
    $("novelty-result").hidden = false;
  }

  noveltyGallery.addEventListener("change", runNovelty);
  dropZone($("novelty-zone"), function (file) {
    if (tooBig(file, novelty.status)) return;
    novelty.file = file;
    runNovelty();
  });
  onShow.novelty = function () { loadGalleries(novelty.status); };

  // ---- Duplicates ----------------------------------------------------------------------

  const duplicates = { ticket: ticketer(), status: statusLine($("duplicates-status")) };

  function groupItem(group) {
    const li = element("li", "dup-group");
    li.dataset.size = String(group.members.length);
    li.append(element("span", "score", fixed(group.score)));
    group.members.forEach(function (m) { li.append(thumbnail(m.id, m.uri)); });
    return li;
  }

  function fillGroups(list, groups) {
    const items = groups.length ? groups.map(groupItem) : [element("li", "empty", "None found.")];
    list.replaceChildren.apply(list, items);
  }

  function groups(n, noun) {
    return n + " " + noun + (n === 1 ? "" : "s");
  }

  async function findDuplicates(event) {
    event.preventDefault();
    const fresh = duplicates.ticket();
    const threshold = $("duplicates-threshold").value.trim();  // empty: the API's default
    duplicates.status("Searching the catalog…");
    try {
      const body = await api("api/v1/duplicates" +
        (threshold === "" ? "" : "?threshold=" + encodeURIComponent(threshold)));
      if (!fresh()) return;
      fillGroups($("duplicates-near"), body.near);
      fillGroups($("duplicates-exact"), body.exact);
      $("duplicates-result").hidden = false;
      duplicates.status(groups(body.near.length, "near-duplicate group") + " at copy score ≥ " +
        body.threshold + ", " +
        groups(body.exact.length, "group") + " of identical files.");
    } catch (err) {
      if (!fresh()) return;
      $("duplicates-result").hidden = true;
      duplicates.status(err.message, true);
    }
  }

  $("duplicates-form").addEventListener("submit", findDuplicates);
})();
