/* @mention suggestions in Markdown text areas (data-markdown): typing "@" and the start of a handle or name asks
   the server for matching people (GET /people/suggest, an HTML fragment) and lists them under the text area;
   arrows move, Enter or Tab inserts "@handle ", Escape closes. Without JavaScript the typed @handle still works.
   Loaded on every signed-in page by base.html. No inline scripts (CSP). */
(function () {
  "use strict";

  var MENTION = /(^|[^\w@\/.+-])@([A-Za-z0-9_-]{0,30})$/;
  var list = null, field = null, start = -1, timer = null, asked = "";

  function close() {
    if (list) list.remove();
    list = null;
    start = -1;
    if (field) field.removeAttribute("aria-controls");
  }

  function options() {
    return list ? Array.prototype.slice.call(list.querySelectorAll("li[data-handle]")) : [];
  }

  function select(index) {
    var items = options();
    if (!items.length) return;
    index = (index + items.length) % items.length;
    items.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
  }

  function current() {
    var items = options();
    for (var i = 0; i < items.length; i++) if (items[i].getAttribute("aria-selected") === "true") return i;
    return -1;
  }

  function insert(handle) {
    var caret = field.selectionStart;
    var before = field.value.slice(0, start) + "@" + handle + " ";
    field.value = before + field.value.slice(caret);
    field.setSelectionRange(before.length, before.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));  // drafts.js keeps the text
    close();
    field.focus();
  }

  function show(html, textarea) {
    close();
    field = textarea;
    var holder = document.createElement("div");
    holder.innerHTML = html;
    list = holder.querySelector("#mention-suggestions");
    if (!list) return;
    list.style.left = textarea.offsetLeft + "px";
    list.style.top = (textarea.offsetTop + textarea.offsetHeight) + "px";
    textarea.insertAdjacentElement("afterend", list);
    textarea.setAttribute("aria-controls", "mention-suggestions");
    list.addEventListener("mousedown", function (event) {
      var li = event.target.closest("li[data-handle]");
      if (li) { event.preventDefault(); insert(li.dataset.handle); }
    });
    select(0);
  }

  function ask(textarea) {
    var match = MENTION.exec(textarea.value.slice(0, textarea.selectionStart));
    if (!match) { close(); return; }
    var at = textarea.selectionStart - match[2].length - 1;
    var url = document.body.dataset.suggestUrl;
    if (!url) return;
    asked = match[2];
    fetch(url + "?q=" + encodeURIComponent(match[2]), { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (asked !== match[2] || document.activeElement !== textarea) return;
        show(html, textarea);
        start = at;
      })
      .catch(close);
  }

  document.addEventListener("input", function (event) {
    var textarea = event.target;
    if (!(textarea instanceof HTMLTextAreaElement) || !textarea.hasAttribute("data-markdown")) return;
    clearTimeout(timer);
    timer = setTimeout(function () { ask(textarea); }, 120);
  });

  document.addEventListener("keydown", function (event) {
    if (!list || event.target !== field) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      select(current() + (event.key === "ArrowDown" ? 1 : -1));
    } else if ((event.key === "Enter" || event.key === "Tab") && current() >= 0) {
      event.preventDefault();
      insert(options()[current()].dataset.handle);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();  // the edit form's own Escape (cancel) is not meant
      close();
    }
  }, true);

  document.addEventListener("focusout", function (event) {
    if (event.target === field) setTimeout(close, 150);
  });
})();
