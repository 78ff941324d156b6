// Lookalike API key: when the server requires one, the page keeps it in this browser
// (localStorage) and sends it as X-API-Key on every API request through lookalikeFetch.
(function () {
  "use strict";
  const STORE = "lookalike.apiKey";
  const input = document.getElementById("api-key");

  window.lookalikeFetch = function (url, options) {
    const opts = Object.assign({}, options || {});
    const key = window.localStorage.getItem(STORE);
    if (key) opts.headers = Object.assign({}, opts.headers || {}, { "X-API-Key": key });
    return fetch(url, opts);
  };

  if (input) {
    input.value = window.localStorage.getItem(STORE) || "";
    input.addEventListener("change", function () {
      if (input.value) window.localStorage.setItem(STORE, input.value);
      else window.localStorage.removeItem(STORE);
    });
  }
})();
