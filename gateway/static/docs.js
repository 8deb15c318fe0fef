// /docs: Swagger UI over /openapi.json, everything served by the gateway (no network beyond it).
// Operations are grouped by context (their OpenAPI tag). Signing in through "Try it out" on
// POST /api/v1/auth/token authorizes the other operations with the token it answers.
(function () {
  "use strict";
  var TOKEN_PATH = "/api/v1/auth/token";
  if (typeof SwaggerUIBundle !== "function") {
    document.getElementById("swagger-ui").textContent =
      "The documentation's assets are not installed: run `make docs-assets` (gateway/static/vendor/).";
    return;
  }
  var ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    docExpansion: "none",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    filter: true,
    persistAuthorization: true,
    showExtensions: true,
    validatorUrl: null,
    responseInterceptor: function (response) {
      try {
        var path = new URL(response.url, window.location.href).pathname;
        var body = response.body || (response.text && JSON.parse(response.text));
        if (path === TOKEN_PATH && response.status === 200 && body && body.access_token) {
          ui.preauthorizeApiKey("bearer", body.access_token);
        }
      } catch (e) { /* not the sign-in answer */ }
      return response;
    }
  });
  window.ui = ui;
})();
