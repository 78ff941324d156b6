// Refine the current search: drag a box on the query image to search by that region, and
// mark results ✓ / ✗ to search again by the query and the marked examples at once.
// app.js announces each new query ("lookalike:query") and each stored mark ("lookalike:marked");
// this file sends POST api/v1/search with box, positive_id and negative_id and renders through
// window.lookalikeSearch.render.
(function () {
  "use strict";
  const page = window.lookalikeSearch;
  const figure = document.getElementById("query");
  const image = document.getElementById("query-image");
  const results = document.getElementById("results");
  const MIN_SIDE = 8; // pixels of the original image, as the API demands

  // The box overlay over the query preview, and a line naming the region and the examples.
  const frame = document.createElement("div");
  frame.className = "box-frame";
  image.replaceWith(frame);
  frame.append(image);
  const outline = document.createElement("div");
  outline.id = "query-box";
  outline.hidden = true;
  frame.append(outline);
  const bar = document.createElement("div");
  bar.id = "refine-bar";
  bar.className = "refine-bar";
  bar.hidden = true;
  const summary = document.createElement("span");
  summary.id = "refine-summary";
  const clearBox = document.createElement("button");
  clearBox.type = "button";
  clearBox.id = "box-clear";
  clearBox.textContent = "Whole image";
  clearBox.title = "Search by the whole query image again";
  const examples = document.createElement("ol");
  examples.id = "examples";
  examples.className = "examples";
  bar.append(summary, clearBox, examples);
  results.before(bar);
  image.title = "Drag a box to search by that part of the image";

  let box = null; // [left, top, right, bottom] in pixels of the original, upright image
  let size = null; // the original image's [width, height]
  let marked = []; // [{id, verdict}] in the order marked
  let serial = 0; // answers of superseded searches are dropped

  // What the current results are refined by, for explain.js: the box, and how many marks.
  page.refinement = function () {
    return { box: box ? box.slice() : null, marks: marked.length };
  };

  document.addEventListener("lookalike:query", function (event) {
    box = null;
    marked = [];
    size = null;
    outline.hidden = true;
    serial += 1;
    showBar();
    const query = event.detail;
    if (query.kind === "id") {
      window.lookalikeFetch("api/v1/images/" + query.id).then(function (r) { return r.json(); })
        .then(function (row) { if (page.query() === query) size = [row.width, row.height]; })
        .catch(function () {});
    }
  });

  document.addEventListener("lookalike:marked", function (event) {
    const id = event.detail.id;
    marked = marked.filter(function (m) { return m.id !== id; });
    marked.push({ id: id, verdict: event.detail.verdict });
    refine("Thanks: marked " + event.detail.verdict + ". ");
  });

  function originalSize() {
    const query = page.query();
    if (query && query.kind === "file") return [image.naturalWidth, image.naturalHeight];
    return size; // a catalog image's preview is a thumbnail: its record has the real size
  }

  // Drawing: pointer down, drag, up; a box under MIN_SIDE pixels of the original is ignored.
  let start = null;
  image.draggable = false;
  image.addEventListener("pointerdown", function (event) {
    if (!originalSize()) return;
    event.preventDefault();
    image.setPointerCapture(event.pointerId);
    start = point(event);
    draw(start, start);
  });
  image.addEventListener("pointermove", function (event) {
    if (start) draw(start, point(event));
  });
  image.addEventListener("pointerup", function (event) {
    if (!start) return;
    const end = point(event);
    const first = start;
    start = null;
    const full = originalSize();
    const sx = full[0] / image.clientWidth;
    const sy = full[1] / image.clientHeight;
    const picked = [
      Math.round(Math.min(first[0], end[0]) * sx), Math.round(Math.min(first[1], end[1]) * sy),
      Math.round(Math.max(first[0], end[0]) * sx), Math.round(Math.max(first[1], end[1]) * sy),
    ];
    if (picked[2] - picked[0] < MIN_SIDE || picked[3] - picked[1] < MIN_SIDE) {
      outline.hidden = box === null;
      if (box) drawBox();
      return;
    }
    box = [Math.max(picked[0], 0), Math.max(picked[1], 0),
      Math.min(picked[2], full[0]), Math.min(picked[3], full[1])];
    drawBox();
    refine("");
  });

  function point(event) {
    const rect = image.getBoundingClientRect();
    return [Math.min(Math.max(event.clientX - rect.left, 0), rect.width),
      Math.min(Math.max(event.clientY - rect.top, 0), rect.height)];
  }

  function draw(a, b) {
    outline.hidden = false;
    outline.style.left = image.offsetLeft + Math.min(a[0], b[0]) + "px";
    outline.style.top = image.offsetTop + Math.min(a[1], b[1]) + "px";
    outline.style.width = Math.abs(a[0] - b[0]) + "px";
    outline.style.height = Math.abs(a[1] - b[1]) + "px";
  }

  function drawBox() {
    const full = originalSize();
    const sx = image.clientWidth / full[0];
    const sy = image.clientHeight / full[1];
    draw([box[0] * sx, box[1] * sy], [box[2] * sx, box[3] * sy]);
  }

  clearBox.addEventListener("click", function () {
    box = null;
    outline.hidden = true;
    refine("");
  });

  function showBar() {
    const right = marked.filter(function (m) { return m.verdict === "right"; }).length;
    const parts = [];
    if (box) parts.push("region " + box.join(","));
    if (marked.length) parts.push(right + " \u2713 and " + (marked.length - right) + " \u2717");
    summary.textContent = parts.length ? "Refined by " + parts.join(", ") : "";
    clearBox.hidden = box === null;
    examples.replaceChildren.apply(examples, marked.map(exampleItem));
    bar.hidden = parts.length === 0;
  }

  function exampleItem(mark) {
    const li = document.createElement("li");
    li.dataset.id = String(mark.id);
    li.dataset.verdict = mark.verdict;
    const img = document.createElement("img");
    img.src = "api/v1/images/" + mark.id + "/thumbnail?size=64";
    img.alt = "example " + mark.id;
    const badge = document.createElement("span");
    badge.className = "badge " + mark.verdict;
    badge.textContent = mark.verdict === "right" ? "\u2713" : "\u2717";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "\u00d7";
    remove.title = "Stop refining by this example (the stored mark stays)";
    remove.setAttribute("aria-label", remove.title);
    remove.addEventListener("click", function () {
      marked = marked.filter(function (m) { return m.id !== mark.id; });
      refine("");
    });
    li.append(img, badge, remove);
    return li;
  }

  // One search by the query (and its box) with the marked results as examples.
  async function refine(prefix) {
    const query = page.query();
    if (!query) return;
    showBar();
    const form = new FormData();
    if (query.kind === "file") form.append("image", query.file);
    else form.append("positive_id", String(query.id));
    if (box) form.append("box", box.join(","));
    marked.forEach(function (m) {
      form.append(m.verdict === "right" ? "positive_id" : "negative_id", String(m.id));
    });
    form.append("k", String(page.k()));
    const mine = ++serial;
    page.setStatus(prefix + "Searching…");
    try {
      const response = await window.lookalikeFetch("api/v1/search", { method: "POST", body: form });
      const body = await page.readJson(response);
      if (mine !== serial) return;
      page.render(body);
      page.setStatus(prefix + summary.textContent + (summary.textContent ? ": " : "") +
        body.results.length + " results in " + body.took_ms.toFixed(1) + " ms");
    } catch (err) {
      if (mine === serial) page.setStatus(err.message, true);
    }
  }
})();
