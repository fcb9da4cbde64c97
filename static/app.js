/* Tracker's script on every page: local times, a banner for failed htmx requests, focus after swaps, the
   list's selection helpers, and clearing a person's drafts when they sign out. Pages with a draft form also
   load drafts.js, the import pages import.js, the API docs api-docs.js. No inline scripts (CSP). */
(function () {
  "use strict";
  document.documentElement.classList.add("js"); /* the stylesheet's phone layouts that need this script */

  var exactFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
  });

  function localiseTimes(root) {
    var times = (root || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) continue;
      var exact = exactFormat.format(when);
      el.title = exact;
      if (el.dataset.style === "exact") el.textContent = exact;
    }
  }

  function showError(message) {
    var banner = document.getElementById("error-banner");
    if (!banner) return;
    banner.textContent = message;
    banner.hidden = false;
  }

  function hideError() {
    var banner = document.getElementById("error-banner");
    if (banner) banner.hidden = true;
  }

  /* "Select all on this page" exists only with JavaScript: show it and keep it in step with the rows. */
  function setUpSelectAll(root) {
    var boxes = (root || document).querySelectorAll("input.select-all");
    for (var i = 0; i < boxes.length; i++) boxes[i].hidden = false;
  }

  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (!target.matches) return;
    if (target.matches("input.select-all")) {
      var table = target.closest("table");
      var rows = table ? table.querySelectorAll('input[name="issue_ids"]') : [];
      for (var i = 0; i < rows.length; i++) rows[i].checked = target.checked;
    } else if (target.matches('input[name="issue_ids"]')) {
      var all = target.closest("table") && target.closest("table").querySelector("input.select-all");
      if (all && !target.checked) all.checked = false;
    }
  });

  document.addEventListener("DOMContentLoaded", function () { localiseTimes(document); setUpSelectAll(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { setUpSelectAll(evt.target); });
  document.addEventListener("htmx:afterSettle", function (evt) { localiseTimes(evt.target); });
  document.addEventListener("htmx:beforeRequest", hideError);
  document.addEventListener("tracker:error", function (evt) {
    showError(evt.detail && evt.detail.message ? evt.detail.message : "The request failed.");
  });
  /* After an in-place swap the focused element is gone: move focus to a conflict's explanation, else the
     first field with an error, else the heading of what replaced it, so keyboard and screen-reader users
     keep their place. */
  var FOCUS_AFTER_SWAP = ["issue-main", "comment-form", "bulk-form", "label-table"];
  var FOCUS_PREFERENCE = [".conflict-intro", '[aria-invalid="true"]', ".bulk-message", "h1", "h2"];
  document.addEventListener("htmx:afterSettle", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || FOCUS_AFTER_SWAP.indexOf(elt.id) === -1) return;
    // In this order of preference (one querySelector with a list would take the first in page order).
    var target = null;
    FOCUS_PREFERENCE.some(function (selector) { target = elt.querySelector(selector); return target; });
    if (!target) return;
    if (!target.matches("input, select, textarea")) target.setAttribute("tabindex", "-1");
    target.focus();
  });

  /* Any other in-place swap that removed the control that had focus (an inbox group's Mark read, a comment's
     Edit, Save or Cancel, a file's Delete): focus goes to what replaced it (its field with an error, its text
     area, its heading, else the new content itself), not to the top of the page. Swaps nobody asked for (counts
     loading) never move focus: their trigger is still there. */
  var FOCUS_IN_NEW_CONTENT = ['[aria-invalid="true"]', "textarea", "h1", "h2", "h3"];
  document.addEventListener("htmx:afterSettle", function (evt) {
    var elt = evt.detail.elt;
    var trigger = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    if (!elt || !trigger || document.contains(trigger) || !document.contains(elt)) return;
    if (document.activeElement && document.activeElement !== document.body) return;
    var target = null;
    FOCUS_IN_NEW_CONTENT.some(function (selector) { target = elt.querySelector(selector); return target; });
    target = target || elt;
    if (!target.matches("input, select, textarea, a[href], button")) target.setAttribute("tabindex", "-1");
    target.focus();
  });

  /* "e" on an issue page opens its edit form, as the Edit button says (aria-keyshortcuts), unless typing. */
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "e" || evt.ctrlKey || evt.metaKey || evt.altKey || evt.defaultPrevented) return;
    var target = evt.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    var edit = document.querySelector('a[aria-keyshortcuts="e"]');
    if (!edit) return;
    evt.preventDefault();
    edit.click();
  });

  /* A saved issue may have a new title: keep the tab's title in step with the heading. */
  document.addEventListener("htmx:afterSettle", function (evt) {
    if (evt.detail.elt && evt.detail.elt.id === "issue-main") syncIssueTitle();
  });
  function syncIssueTitle() {
    var number = document.querySelector("#issue-main .issue-number");
    var title = document.querySelector("#issue-main .issue-title");
    if (number && title) document.title = number.textContent + " " + title.textContent + " · Tracker";
  }

  /* After Previous/Next the link that had focus is gone: move focus to the new page's "Showing …" line, so
     keyboard and screen-reader users hear where they are (filter changes keep focus in the filter form). */
  document.addEventListener("htmx:afterSettle", function (evt) {
    var elt = evt.detail.elt;
    var trigger = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    if (!elt || elt.id !== "issue-results" || !trigger || !trigger.closest || !trigger.closest(".pagination")) return;
    var target = elt.querySelector(".result-summary") || elt.querySelector(".empty-state") || elt;
    target.setAttribute("tabindex", "-1");
    target.focus();
  });

  /* The labels filter's summary names the ticked labels (the list swaps only the results, not the form). */
  document.addEventListener("change", function (evt) {
    var options = evt.target.closest && evt.target.closest(".label-filter .label-options");
    if (!options) return;
    var names = Array.prototype.map.call(options.querySelectorAll("input[name=label]:checked"), function (box) {
      return box.value;
    });
    options.closest(".label-filter").querySelector("summary").textContent = names.length ? names.join(", ") : "Any labels";
  });


  /* Drafts of unsaved forms (drafts.js, on the pages that have one) are kept in localStorage under
     DRAFT_PREFIX, the signed-in user's id and ":". Signing out, from any page, clears that person's drafts:
     nothing typed stays behind in a browser someone signed out of. */
  var DRAFT_PREFIX = "tracker-draft:";
  window.Tracker = { DRAFT_PREFIX: DRAFT_PREFIX };
  document.addEventListener("submit", function (evt) {
    if (!evt.target.hasAttribute("data-sign-out")) return;
    var mine = DRAFT_PREFIX + document.body.dataset.user + ":";
    try {
      var store = window.localStorage;
      var keys = [];
      for (var i = 0; i < store.length; i++) {
        var key = store.key(i);
        if (key && key.indexOf(mine) === 0) keys.push(key);
      }
      keys.forEach(function (key) { store.removeItem(key); });
    } catch (e) { /* no storage, so no drafts */ }
  });

  /* "Resolve with comment" carries the version the page shows: keep it in step with the issue part of the page,
     which quick changes and in-place edits swap (a conflict view or an open edit form has no data-version). */
  document.addEventListener("htmx:afterSettle", function () {
    var main = document.getElementById("issue-main");
    if (!main || !main.dataset.version) return;
    var inputs = document.querySelectorAll("input[data-issue-version]");
    for (var i = 0; i < inputs.length; i++) inputs[i].value = main.dataset.version;
  });

  /* Ctrl+Enter (Cmd+Enter on a Mac) in a field sends its form, as its main button would; Escape closes an open
     picker (labels) or cancels an in-place edit (through its Cancel link, which asks first about unsaved text). */
  document.addEventListener("keydown", function (evt) {
    var target = evt.target;
    if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey) && target.form && !evt.defaultPrevented) {
      evt.preventDefault();
      var main = target.form.querySelector("button[type=submit].primary, button[type=submit]:not([name])");
      if (target.form.requestSubmit) target.form.requestSubmit(main || undefined); else target.form.submit();
      return;
    }
    if (evt.key !== "Escape" || evt.defaultPrevented) return;
    var picker = target.closest && target.closest("details[open]");
    if (!picker) picker = document.querySelector("details.label-picker[open], details.label-filter[open]");
    if (picker) {
      picker.open = false;
      var summary = picker.querySelector("summary");
      if (summary) summary.focus();
      evt.preventDefault();
      return;
    }
    var form = target.closest && target.closest("form[data-draft]");
    if (!form && target.closest) {
      /* Focus on the heading of an edit just swapped in (FOCUS_AFTER_SWAP moves it there): the edit form of that
         region is the one Escape means, when it has exactly one. */
      var region = target.closest("#" + FOCUS_AFTER_SWAP.join(", #"));
      var forms = region ? region.querySelectorAll("form[data-draft]") : [];
      if (forms.length === 1) form = forms[0];
    }
    var cancel = form && form.querySelector("[data-draft-cancel]");
    if (cancel) { evt.preventDefault(); cancel.click(); }
  });

  /* A Copy button (data-copy = the id of the field to copy) exists only with JavaScript: shown here. */
  function setUpCopy(root) {
    var buttons = (root || document).querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;
  }
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("button[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.dataset.copy);
    var status = button.closest("div").parentNode.querySelector("[data-copy-status]");
    if (!field) return;
    field.select();
    function done(ok) { if (status) status.textContent = ok ? "Copied." : "Press Ctrl+C (Cmd+C on a Mac) to copy the selected token."; }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () { done(false); });
    } else {
      done(false);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { setUpCopy(document); });

  /* A phone's "Filters (n)" button opens and closes the list's filter fields; the state lives on the form, so
     fields swapped in by htmx (a qualifier typed in the box) stay as open as they were. */
  function setUpFiltersToggle() {
    var button = document.querySelector("#issue-filters .filters-toggle");
    if (!button) return;
    var form = button.closest("form");
    button.hidden = false;
    button.setAttribute("aria-expanded", form.classList.contains("filters-open") ? "true" : "false");
    countFilters(button);
  }
  /* "Filters (n)": how many of status, priority, assignee and labels are set, as the fields stand now (the page
     counts them when it is made; a field changed since is counted here). */
  function countFilters(button) {
    var fields = button.closest("#filter-fields");
    var set = ["status", "priority", "assignee"].filter(function (name) {
      var select = fields.querySelector('select[name="' + name + '"]');
      return select && Array.prototype.some.call(select.selectedOptions, function (option) { return option.value; });
    }).length + (fields.querySelector('input[name="label"]:checked') ? 1 : 0);
    button.textContent = "Filters" + (set ? " (" + set + ")" : "");
  }
  document.addEventListener("DOMContentLoaded", setUpFiltersToggle);
  document.addEventListener("htmx:afterSettle", setUpFiltersToggle);
  document.addEventListener("change", function (evt) {
    var fields = evt.target.closest && evt.target.closest("#filter-fields");
    var button = fields && fields.querySelector(".filters-toggle");
    if (button) countFilters(button);
  });
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("#issue-filters .filters-toggle");
    if (!button) return;
    var open = button.closest("form").classList.toggle("filters-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  /* The phone's Menu button (shown by the stylesheet on narrow screens once this script runs): opens and closes
     the navigation and the person's name below the header; Escape closes it again. */
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector(".menu-button");
    if (!button) return;
    var header = button.closest(".site-header");
    document.documentElement.classList.add("has-menu");
    button.hidden = false;
    function setOpen(open) {
      header.classList.toggle("menu-open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.addEventListener("click", function () { setOpen(!header.classList.contains("menu-open")); });
    header.addEventListener("keydown", function (evt) {
      if (evt.key === "Escape" && header.classList.contains("menu-open")) { setOpen(false); button.focus(); }
    });
  });
  document.addEventListener("htmx:afterSettle", function (evt) { setUpCopy(evt.target); });

  function csrfHeaders() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return {}; }
  }

  /* A task list in the description: its boxes are live for people who may edit (the issue carries data-tasks-url);
     a tick is a guarded edit of the description from the version shown, swapped in like a quick change (a stale
     one brings the conflict view). Without JavaScript the boxes only show the state; the Edit form changes it. */
  function setUpTasks(root) {
    var main = document.getElementById("issue-main");
    if (!main || !main.dataset.tasksUrl) return;
    var boxes = main.querySelectorAll(".description-body input.task-list-item-checkbox");
    for (var i = 0; i < boxes.length; i++) boxes[i].disabled = false;
  }
  document.addEventListener("change", function (evt) {
    var box = evt.target;
    if (!box.matches || !box.matches("#issue-main .description-body input.task-list-item-checkbox")) return;
    var main = document.getElementById("issue-main");
    window.htmx.ajax("POST", main.dataset.tasksUrl, {
      source: box, target: "#issue-main", swap: "outerHTML", headers: csrfHeaders(),
      values: { version: main.dataset.version, task: box.dataset.task, done: box.checked ? "1" : "0" }
    });
  });

  /* Every Markdown field (textarea[data-markdown]) gets Write and Preview buttons; Preview shows the text as the
     server renders it (the same code as the page), so what is previewed is what will be shown. */
  function setUpPreviews(root) {
    var url = document.body.dataset.previewUrl;
    var areas = (root || document).querySelectorAll("textarea[data-markdown]:not([data-preview-ready])");
    if (!url) return;
    for (var i = 0; i < areas.length; i++) addPreview(areas[i], url);
  }
  function addPreview(area, url) {
    area.setAttribute("data-preview-ready", "");
    var tabs = document.createElement("div");
    tabs.className = "markdown-tabs";
    var write = makeTab("Write", true);
    var show = makeTab("Preview", false);
    tabs.appendChild(write);
    tabs.appendChild(show);
    var panel = document.createElement("div");
    panel.className = "markdown markdown-preview";
    panel.hidden = true;
    panel.setAttribute("aria-live", "polite");
    area.parentNode.insertBefore(tabs, area);
    area.parentNode.insertBefore(panel, area.nextSibling);
    write.addEventListener("click", function () {
      panel.hidden = true; area.hidden = false;
      write.setAttribute("aria-pressed", "true"); show.setAttribute("aria-pressed", "false");
      area.focus();
    });
    show.addEventListener("click", function () {
      var headers = csrfHeaders();
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      panel.textContent = "Rendering the preview…";
      panel.hidden = false; area.hidden = true;
      write.setAttribute("aria-pressed", "false"); show.setAttribute("aria-pressed", "true");
      fetch(url, { method: "POST", headers: headers, body: new URLSearchParams({ text: area.value }), credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) { panel.innerHTML = html; })  /* sanitized by the server, as on the page */
        .catch(function () { panel.textContent = "The preview could not be loaded."; });
    });
  }
  function makeTab(text, pressed) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "markdown-tab";
    button.textContent = text;
    button.setAttribute("aria-pressed", pressed ? "true" : "false");
    return button;
  }
  document.addEventListener("DOMContentLoaded", function () { setUpTasks(document); setUpPreviews(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { setUpTasks(evt.target); setUpPreviews(document); });

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr && (xhr.getResponseHeader("HX-Trigger") || xhr.getResponseHeader("HX-Redirect"))) return; /* handled */
    showError("The request failed (" + (xhr ? xhr.status : "?") + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("Tracker could not be reached. Check your connection and try again.");
  });
})();
