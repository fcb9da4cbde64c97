/* Tracker's only script: local times, a banner for failed htmx requests, focus after swaps and drafts of
   unsaved forms. No inline scripts (CSP). */
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

  /* Drafts. What someone types into an issue or comment form is kept in this browser (localStorage, per
     signed-in user) until it is saved or discarded, so a reload, a closed tab, a mis-click on Cancel or a
     session that ended meanwhile loses nothing. A draft keeps the version it was typed against: restored
     onto a newer version, saving it brings the conflict view, never a silent overwrite. Forms say what they
     hold: data-draft-state="fresh" (as stored: a draft is restored into it) or "unsaved" (sent back with
     errors or a conflict: it is the draft). */
  var DRAFT_PREFIX = "tracker-draft:";
  var DRAFT_DAYS = 30;
  var SUBMITTED = "tracker-draft-submitted";
  var draftTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function storageOf(kind) {
    try { var store = window[kind]; store.getItem(DRAFT_PREFIX); return store; } catch (e) { return null; }
  }
  var drafts = storageOf("localStorage");
  var submitted = storageOf("sessionStorage");

  function draftOwner() { return document.body && document.body.dataset.user; }
  function draftKey(name) { return DRAFT_PREFIX + draftOwner() + ":" + name; }

  function readDraft(name) {
    if (!drafts || !draftOwner()) return null;
    try { return JSON.parse(drafts.getItem(draftKey(name))); } catch (e) { return null; }
  }

  function removeDraft(name) {
    if (drafts && draftOwner()) drafts.removeItem(draftKey(name));
  }

  function draftKeys(test) {
    var keys = [];
    for (var i = 0; drafts && i < drafts.length; i++) {
      var key = drafts.key(i);
      if (key && key.indexOf(DRAFT_PREFIX) === 0 && test(key)) keys.push(key);
    }
    return keys;
  }

  function isDraftField(el) {
    return el.name && ["hidden", "submit", "button", "reset", "file", "password"].indexOf(el.type) === -1;
  }

  /* The form's fields as {name: [values]} (ticked boxes and chosen options only; hidden fields left out). */
  function formValues(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!isDraftField(el)) return;
      var list = values[el.name] || (values[el.name] = []);
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) list.push(el.value);
      } else if (el.type === "select-multiple") {
        Array.prototype.forEach.call(el.selectedOptions, function (option) { list.push(option.value); });
      } else {
        list.push(el.value);
      }
    });
    return values;
  }

  function fieldLabel(form, name) {
    var el = form.elements[name];
    if (el && el.length !== undefined && !el.tagName) el = el[0];
    var group = el && el.closest("fieldset");
    var label = el && el.id && form.querySelector('label[for="' + el.id + '"]');
    var text = (label && label.textContent) || (group && group.querySelector("legend") && group.querySelector("legend").textContent) || name;
    return text.replace(/\s+/g, " ").trim();
  }

  /* Put values back into the form; the names of fields that cannot take them any more (a choice that is
     gone, such as a deleted label or a status the workflow no longer offers) keep the form's value. */
  function setValues(form, values) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!isDraftField(el) || !Object.prototype.hasOwnProperty.call(values, el.name)) return;
      var wanted = values[el.name];
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = wanted.indexOf(el.value) !== -1;
      } else if (el.type === "select-multiple") {
        Array.prototype.forEach.call(el.options, function (option) { option.selected = wanted.indexOf(option.value) !== -1; });
      } else {
        var before = el.value;
        el.value = wanted.length ? wanted[0] : "";
        if (el.value !== (wanted.length ? wanted[0] : "")) el.value = before;
      }
    });
    var now = formValues(form);
    return Object.keys(values).filter(function (name) {
      return Object.prototype.hasOwnProperty.call(now, name) && JSON.stringify(now[name]) !== JSON.stringify(values[name]);
    });
  }

  function formVersion(form) {
    var field = form.querySelector('input[type="hidden"][name="version"]');
    return field ? field.value : "";
  }

  function isDirty(form) {
    return form.dataset.draftState === "unsaved" || JSON.stringify(formValues(form)) !== form.dataset.draftStart;
  }

  function saveDraft(form) {
    var name = form.dataset.draft;
    if (!drafts || !draftOwner() || !name) return;
    if (!isDirty(form)) { removeDraft(name); return; }
    var draft = { values: formValues(form), version: formVersion(form), saved: Date.now() };
    try { drafts.setItem(draftKey(name), JSON.stringify(draft)); } catch (e) { /* storage full or refused */ }
  }

  function draftButton(text, action) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.textContent = text;
    button.addEventListener("click", action);
    return button;
  }

  function draftNotice(text) {
    var notice = document.createElement("div");
    notice.className = "draft-notice";
    notice.setAttribute("role", "status");
    var message = document.createElement("p");
    message.textContent = text;
    notice.appendChild(message);
    return notice;
  }

  function restoreDraft(form) {
    var name = form.dataset.draft;
    var draft = readDraft(name);
    if (!draft || !draft.values) return;
    var start = form.dataset.draftStart;
    var missed = setValues(form, draft.values);
    if (JSON.stringify(formValues(form)) === start) { removeDraft(name); return; }
    var versionField = form.querySelector('input[type="hidden"][name="version"]');
    var startVersion = versionField ? versionField.value : "";
    var newer = versionField && draft.version && draft.version !== startVersion;
    if (newer) versionField.value = draft.version;
    var text = "Restored what you typed on " + draftTimeFormat.format(new Date(draft.saved)) + " and had not saved.";
    if (newer) text += " This issue has been saved since (version " + startVersion + "): saving will show both versions so you can merge them.";
    if (missed.length) text += " Not restored, no longer a choice: " + missed.map(function (n) { return fieldLabel(form, n); }).join(", ") + ".";
    var notice = draftNotice(text);
    notice.appendChild(draftButton("Discard what I typed", function () {
      removeDraft(name);
      setValues(form, JSON.parse(start));
      if (versionField) versionField.value = startVersion;
      notice.remove();
    }));
    var first = Array.prototype.find.call(form.children, function (child) {
      return !(child.tagName === "INPUT" && child.type === "hidden");
    });
    form.insertBefore(notice, first || null);
  }

  /* The issue page says when this issue has an unsaved edit (after a reload, or signing in again). */
  function showDraftNotice(holder) {
    var name = holder.dataset.draftNotice;
    var draft = readDraft(name);
    holder.textContent = "";
    holder.hidden = !draft || !!document.querySelector('form[data-draft="' + name + '"]');
    if (holder.hidden) return;
    var message = document.createElement("p");
    message.textContent = "You have changes to this issue that are not saved yet (typed " + draftTimeFormat.format(new Date(draft.saved)) + ").";
    holder.appendChild(message);
    var edit = holder.closest("#issue-main") && holder.closest("#issue-main").querySelector("a[data-edit]");
    if (edit) holder.appendChild(draftButton("Continue editing", function () { edit.click(); }));
    holder.appendChild(draftButton("Discard them", function () { removeDraft(name); holder.hidden = true; }));
  }

  function setUpDrafts(root) {
    var scope = root || document;
    var forms = scope.querySelectorAll ? scope.querySelectorAll("form[data-draft]") : [];
    if (scope.matches && scope.matches("form[data-draft]")) forms = [scope];
    Array.prototype.forEach.call(forms, function (form) {
      if (form.dataset.draftReady) return;
      form.dataset.draftReady = "1";
      form.dataset.draftStart = JSON.stringify(formValues(form));
      if (form.dataset.draftState === "unsaved") saveDraft(form);
      else restoreDraft(form);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-draft-notice]"), showDraftNotice);
  }

  /* A form sent without htmx (a new issue): the next page tells whether it was saved. The sign-in page and
     error pages mean it was not; the form back with errors is the draft itself; any other page means saved. */
  function settleSubmittedDraft() {
    var name = submitted && submitted.getItem(SUBMITTED);
    if (!name) return;
    submitted.removeItem(SUBMITTED);
    if (document.body.hasAttribute("data-keeps-drafts")) return;
    if (document.querySelector('form[data-draft="' + name + '"][data-draft-state="unsaved"]')) return;
    removeDraft(name);
  }

  function pruneDrafts() {
    var oldest = Date.now() - DRAFT_DAYS * 24 * 3600 * 1000;
    draftKeys(function (key) {
      try { return (JSON.parse(drafts.getItem(key)) || {}).saved < oldest; } catch (e) { return true; }
    }).forEach(function (key) { drafts.removeItem(key); });
  }

  function onFieldEdit(evt) {
    var form = evt.target.form;
    if (form && form.dataset.draft && form.dataset.draftReady) saveDraft(form);
  }
  document.addEventListener("input", onFieldEdit);
  document.addEventListener("change", onFieldEdit);

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.hasAttribute("data-sign-out")) {
      /* Nothing typed stays behind in a browser someone signed out of. */
      var mine = DRAFT_PREFIX + draftOwner() + ":";
      draftKeys(function (key) { return key.indexOf(mine) === 0; }).forEach(function (key) { drafts.removeItem(key); });
      return;
    }
    if (!form.dataset.draft || form.hasAttribute("hx-post")) return;
    saveDraft(form);
    if (submitted) submitted.setItem(SUBMITTED, form.dataset.draft);
  });

  /* An htmx save that went through (2xx, not a sign-in redirect) ends its draft; a 409 or 422 keeps it. */
  document.addEventListener("htmx:afterRequest", function (evt) {
    /* The form that sent it (detail.elt is the nearest element still in the page when the swap removed it). */
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    var xhr = evt.detail.xhr;
    if (!elt || !elt.dataset || !elt.dataset.draft || !xhr) return;
    if (xhr.status >= 200 && xhr.status < 300 && !xhr.getResponseHeader("HX-Redirect")) removeDraft(elt.dataset.draft);
  });

  /* Cancel on a form with unsaved changes asks first; "Discard my changes" (the conflict view) does not. */
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("[data-draft-cancel], [data-draft-discard]");
    var form = link && link.closest("form[data-draft]");
    if (!form) return;
    if (link.hasAttribute("data-draft-cancel") && isDirty(form) && !window.confirm("Discard the changes you have not saved?")) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
      return;
    }
    removeDraft(form.dataset.draft);
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    pruneDrafts();
    settleSubmittedDraft();
    setUpDrafts(document);
  });
  document.addEventListener("htmx:afterSettle", function (evt) { setUpDrafts(evt.target); });

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr && (xhr.getResponseHeader("HX-Trigger") || xhr.getResponseHeader("HX-Redirect"))) return; /* handled */
    showError("The request failed (" + (xhr ? xhr.status : "?") + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("Tracker could not be reached. Check your connection and try again.");
  });
})();
