// Swagger UI for /api/docs (vendored in static/vendor/swagger-ui; no inline script, so the CSP holds).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  var csrf = document.querySelector('meta[name="csrf-token"]');
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    filter: true, // a box that filters the operations by tag
    validatorUrl: null, // never ask an outside validator
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" with the browser session: cookie-authenticated writes need the CSRF token.
    requestInterceptor: function (request) {
      var sameOrigin = request.url.indexOf("/") === 0 || request.url.indexOf(window.location.origin + "/") === 0;
      if (csrf && sameOrigin && !/^(GET|HEAD|OPTIONS)$/i.test(request.method || "GET")) {
        request.headers["X-CSRFToken"] = csrf.getAttribute("content");
      }
      return request;
    }
  });
})();
