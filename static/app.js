/* Tracker's script on every page: local times, a banner for failed htmx requests, focus after swaps, the
   list's selection helpers, and clearing a person's drafts when they sign out. Pages with a draft form also
   load drafts.js, the import pages import.js, the API docs api-docs.js. No inline scripts (CSP). */
(function () {
  "use strict";

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
    var cancel = form && form.querySelector("[data-draft-cancel]");
    if (cancel) { evt.preventDefault(); cancel.click(); }
  });

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr && (xhr.getResponseHeader("HX-Trigger") || xhr.getResponseHeader("HX-Redirect"))) return; /* handled */
    showError("The request failed (" + (xhr ? xhr.status : "?") + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("Tracker could not be reached. Check your connection and try again.");
  });
})();
