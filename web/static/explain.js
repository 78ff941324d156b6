// Lookalike "why they match": heatmap overlays from POST api/v1/explain, shown under a
// Compare verdict and, for a clicked search result's "Why?", for the query against it.
// The other scripts announce what to explain with events: "lookalike:compared" (detail
// {a, b}: the two files) and "lookalike:results" (detail {query}: {kind: "file", file} or
// {kind: "id", id}); refine.js tells the current box and marks (lookalikeSearch.refinement).
(function () {
  "use strict";

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  async function explain(form) {
    let response;
    try {
      response = await window.lookalikeFetch("api/v1/explain", { method: "POST", body: form });
    } catch (err) {
      throw new Error("Could not reach the server (" + err.message + ").");
    }
    const body = await response.json().catch(function () { return null; });
    if (!response.ok || body === null) {
      const message = body && body.error ? body.error.message : response.statusText || "Request failed";
      throw new Error("No explanation: " + message + " (HTTP " + response.status + ")");
    }
    return body;
  }

  // A box that shows one explanation at a time; a newer request makes older replies stale.
  function explainer(box, heading) {
    let last = 0;
    const title = element("h3", "", heading);
    const status = element("p", "status");
    status.setAttribute("role", "status");
    const figures = element("div", "explain-pair");
    const legend = element("p", "hint", "Red: the parts that made the two look alike " +
      "(blanking them lowers the similarity most); blue: parts that made them differ.");
    box.replaceChildren(title, status, figures, legend);
    figures.hidden = legend.hidden = true;

    function figure(side, caption) {
      const fig = element("figure", "explain-overlay");
      const img = element("img");
      img.src = "data:image/png;base64," + side.overlay_png;
      img.alt = caption + " with its heatmap";
      img.width = side.width;
      img.height = side.height;
      fig.append(img, element("figcaption", "", caption));
      return fig;
    }

    return async function (form, captions, note) {
      const mine = ++last;
      box.hidden = false;
      figures.hidden = legend.hidden = true;
      status.classList.remove("error");
      status.textContent = "Explaining…";
      try {
        const body = await explain(form);
        if (mine !== last) return;
        figures.replaceChildren(figure(body.image_a, captions[0]), figure(body.image_b, captions[1]));
        figures.hidden = legend.hidden = false;
        status.textContent = "Similarity " + body.similarity.toFixed(3) + (note ? " " + note : "") +
          " · " + body.grid + "×" + body.grid + " occlusion in " + Math.round(body.took_ms) + " ms";
      } catch (err) {
        if (mine !== last) return;
        status.textContent = err.message;
        status.classList.add("error");
      }
    };
  }

  // ---- Compare: explain every new verdict -----------------------------------------------

  const compareBox = element("section", "explain");
  compareBox.id = "compare-explain";
  compareBox.hidden = true;
  document.getElementById("compare-result").append(compareBox);
  const explainCompare = explainer(compareBox, "Why?");

  document.addEventListener("lookalike:compared", function (event) {
    const form = new FormData();
    form.append("image_a", event.detail.a);
    form.append("image_b", event.detail.b);
    explainCompare(form, ["First image", "Second image"]);
  });

  // ---- Search: a "Why?" button on each result --------------------------------------------

  const searchBox = element("section", "explain verdict-box");
  searchBox.id = "search-explain";
  searchBox.hidden = true;
  const results = document.getElementById("results");
  results.parentNode.insertBefore(searchBox, results);
  const explainResult = explainer(searchBox, "Why this result?");

  document.addEventListener("lookalike:results", function (event) {
    const query = event.detail.query;
    searchBox.hidden = true;
    if (!query) return;
    results.querySelectorAll("li.result").forEach(function (li) {
      const why = element("button", "why", "Why?");
      why.type = "button";
      why.title = "Show what made this result look like the query";
      why.addEventListener("click", function () {
        const search = window.lookalikeSearch;
        const refined = search && search.refinement ? search.refinement() : { box: null, marks: 0 };
        const form = new FormData();
        if (query.kind === "file") form.append("image_a", query.file);
        else form.append("id_a", String(query.id));
        if (refined.box) form.append("box_a", refined.box.join(","));
        form.append("id_b", li.dataset.id);
        const note = refined.marks ? "of the query" + (refined.box ? " region" : "") +
          " alone (the result's score also counts your " + refined.marks + " \u2713 / \u2717 mark" +
          (refined.marks > 1 ? "s" : "") + ")" : "";
        explainResult(form, [refined.box ? "Query region " + refined.box.join(",") : "Query",
          li.querySelector(".uri").textContent || "Result"], note);
        searchBox.scrollIntoView({ block: "nearest" });
      });
      li.append(why);
    });
  });
})();
