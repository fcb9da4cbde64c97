// Starts Swagger UI on the API docs page (an external file: the CSP allows no inline script).
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") return;
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: false,  // its links sit inside each operation's button: a link in a button reaches no one
    tryItOutEnabled: true,
    validatorUrl: null,
  });
  // Swagger UI's headings start at h3 under the page's h1: give them the levels that follow (h3 -> 2, h4 -> 3...)
  // so the outline has no gap, as they render and re-render; and label what has no label.
  function levelHeadings() {
    var headings = root.querySelectorAll("h3, h4, h5");
    for (var i = 0; i < headings.length; i++) {
      var level = String(parseInt(headings[i].tagName.charAt(1), 10) - 1);
      if (headings[i].getAttribute("aria-level") !== level) headings[i].setAttribute("aria-level", level);
    }
    // A request body's text area has no label of its own: name it.
    var bodies = root.querySelectorAll("textarea.body-param__text:not([aria-label])");
    for (var j = 0; j < bodies.length; j++) bodies[j].setAttribute("aria-label", "Request body (JSON)");
  }
  new MutationObserver(levelHeadings).observe(root, { childList: true, subtree: true });
});
