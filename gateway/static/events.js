// /docs/events: the AsyncAPI document (/asyncapi.json) rendered by the AsyncAPI project's React
// component (its standalone bundle, served by the gateway: no network beyond it). The sidebar
// groups the operations by their tags: the context that publishes or consumes.
(function () {
  "use strict";
  var root = document.getElementById("asyncapi");
  if (typeof AsyncApiStandalone === "undefined") {
    root.textContent = "The documentation's assets are not installed: run `make docs-assets` (gateway/static/vendor/).";
    return;
  }
  fetch("/asyncapi.json").then(function (r) {
    if (!r.ok) { throw new Error("/asyncapi.json answered " + r.status); }
    return r.text();
  }).then(function (schema) {
    AsyncApiStandalone.render({
      schema: schema,
      config: {
        show: { sidebar: true, info: true, servers: true, operations: true, messages: true, schemas: true, errors: true },
        expand: { messageExamples: false },
        sidebar: { showServers: "byDefault", showOperations: "byOperationsTags" }
      }
    }, root);
  }).catch(function (e) { root.textContent = "Could not load the events: " + e; });
})();
