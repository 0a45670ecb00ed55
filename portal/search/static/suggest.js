// Autocomplete for the search box: fills the <datalist> from /api/v1/search/suggest as one types.
(function () {
  "use strict";
  var input = document.getElementById("search-q");
  var list = document.getElementById("search-suggestions");
  if (!input || !list || !window.fetch) { return; }
  var timer = null;
  var last = "";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var value = input.value.trim();
      if (!value || value === last) { return; }
      last = value;
      fetch(input.dataset.suggestUrl + "?q=" + encodeURIComponent(value), {headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {suggestions: []}; })
        .then(function (data) {
          list.replaceChildren();
          (data.suggestions || []).forEach(function (title) {
            var option = document.createElement("option");
            option.value = title;
            list.appendChild(option);
          });
        })
        .catch(function () {});
    }, 150);
  });
}());
