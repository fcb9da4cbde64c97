/* Drafts of unsaved forms: a new issue, an issue edit, the conflict view, a comment, a comment edit. Loaded only
   by the pages that have such a form or a notice of one (their templates name it in their scripts block), after
   app.js, which clears a person's drafts when they sign out from any page. No inline scripts (CSP). */
(function () {
  "use strict";

  /* What someone types into an issue or comment form is kept in this browser (localStorage, per
     signed-in user and per tab) until it is saved or discarded, so a reload, a closed tab, a mis-click on
     Cancel or a session that ended meanwhile loses nothing. A draft keeps the version its changes were
     typed against (on the conflict view: the version the person started from), so restoring it after
     someone else saved brings the conflict view again, never a silent overwrite. Forms say what they hold:
     data-draft-state="fresh" (as stored: a kept draft goes back into it) or "unsaved" (sent back with
     errors or a conflict: it is the draft). */
  var DRAFT_PREFIX = window.Tracker.DRAFT_PREFIX;  // app.js, loaded first, clears them on sign-out
  var DRAFT_DAYS = 30;
  var SUBMITTED = "tracker-draft-submitted";
  var draftTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function storageOf(kind) {
    try { var store = window[kind]; store.getItem(DRAFT_PREFIX); return store; } catch (e) { return null; }
  }
  var drafts = storageOf("localStorage");
  var tabStore = storageOf("sessionStorage");
  /* Each tab keeps its own drafts (two tabs on one issue never overwrite or delete each other's typing);
     the id lives in sessionStorage, so it survives a reload of the tab. */
  var tabId = (tabStore && tabStore.getItem("tracker-tab")) || Math.random().toString(36).slice(2, 10);
  if (tabStore) tabStore.setItem("tracker-tab", tabId);

  function draftOwner() { return document.body && document.body.dataset.user; }
  function draftStem(name) { return DRAFT_PREFIX + draftOwner() + ":" + name + ":"; }
  function ownKey(name) { return draftStem(name) + tabId; }

  function draftKeys(test) {
    var keys = [];
    for (var i = 0; drafts && i < drafts.length; i++) {
      var key = drafts.key(i);
      if (key && key.indexOf(DRAFT_PREFIX) === 0 && test(key)) keys.push(key);
    }
    return keys;
  }

  function parsedDraft(key) {
    try { return JSON.parse(drafts.getItem(key)); } catch (e) { return null; }
  }

  /* This tab's draft of the form, else the newest another tab left ({key, draft}), else null. */
  function findDraft(name) {
    if (!drafts || !draftOwner()) return null;
    var own = parsedDraft(ownKey(name));
    if (own && own.values) return { key: ownKey(name), draft: own };
    var stem = draftStem(name);
    var found = null;
    draftKeys(function (key) { return key.indexOf(stem) === 0; }).forEach(function (key) {
      var draft = parsedDraft(key);
      if (draft && draft.values && (!found || draft.saved > found.draft.saved)) found = { key: key, draft: draft };
    });
    return found;
  }

  function removeOwnDraft(name) {
    if (drafts && draftOwner()) drafts.removeItem(ownKey(name));
  }

  function removeEveryDraft(name) {
    var stem = draftStem(name);
    draftKeys(function (key) { return key.indexOf(stem) === 0; }).forEach(function (key) { drafts.removeItem(key); });
  }

  function isDraftField(el) {
    return el.name && ["hidden", "submit", "button", "reset", "file", "password"].indexOf(el.type) === -1;
  }

  /* The form's fields as {name: [values]}: as they are now, or (initial) as the page was sent, which a
     browser that refills forms on Back does not change. */
  function formValues(form, initial) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!isDraftField(el)) return;
      var list = values[el.name] || (values[el.name] = []);
      if (el.type === "checkbox" || el.type === "radio") {
        if (initial ? el.defaultChecked : el.checked) list.push(el.value);
      } else if (el.tagName === "SELECT") {
        var chosen = Array.prototype.filter.call(el.options, function (option) {
          return initial ? option.defaultSelected : option.selected;
        });
        if (initial && !chosen.length && el.type === "select-one" && el.options.length) chosen = [el.options[0]];
        chosen.forEach(function (option) { list.push(option.value); });
      } else {
        list.push(initial ? el.defaultValue : el.value);
      }
    });
    return values;
  }

  function fieldLabel(form, name) {
    var el = form.elements[name];
    if (el && !el.tagName && el.length) el = el[0];
    var group = el && el.closest("fieldset");
    var label = el && el.id && form.querySelector('label[for="' + el.id + '"]');
    var legend = group && group.querySelector("legend");
    return ((label && label.textContent) || (legend && legend.textContent) || name).replace(/\s+/g, " ").trim();
  }

  /* Put values back into the form. Returns what could not be: a choice that is gone (a deleted label, a
     status the workflow no longer offers) keeps the form's value. */
  function setValues(form, values) {
    var missing = {};
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
        if (el.value !== (wanted.length ? wanted[0] : "")) { el.value = before; missing[el.name] = 1; }
      }
    });
    var now = formValues(form);
    Object.keys(values).forEach(function (name) {
      if (!Object.prototype.hasOwnProperty.call(now, name) || missing[name]) return;
      var gone = values[name].filter(function (value) { return now[name].indexOf(value) === -1; }).length;
      if (gone) missing[name] = gone;
    });
    return Object.keys(missing).map(function (name) {
      var el = form.elements[name];
      var many = el && !el.tagName;
      return fieldLabel(form, name) + (many ? " (" + missing[name] + " no longer there)" : "");
    });
  }

  /* The version a draft's changes were made against: the conflict view's starting version, else the form's. */
  function draftVersion(form) {
    var field = form.querySelector('input[type="hidden"][name="base_version"]') ||
      form.querySelector('input[type="hidden"][name="version"]');
    return field ? field.value : "";
  }

  function isDirty(form) {
    /* A form swapped in a moment ago is set up when htmx settles; until then nothing in it can be unsaved. */
    if (form.dataset.draftStart === undefined) return form.dataset.draftState === "unsaved";
    return form.dataset.draftState === "unsaved" || JSON.stringify(formValues(form)) !== form.dataset.draftStart;
  }

  function saveDraft(form) {
    var name = form.dataset.draft;
    if (!drafts || !draftOwner() || !name || form.dataset.draftStart === undefined) return;
    if (!isDirty(form)) { removeOwnDraft(name); return; }
    var draft = { values: formValues(form), version: draftVersion(form), saved: Date.now() };
    try { drafts.setItem(ownKey(name), JSON.stringify(draft)); } catch (e) { /* storage full or refused */ }
  }

  function draftButton(text, action) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.textContent = text;
    button.addEventListener("click", action);
    return button;
  }

  /* A notice: its sentence in a live region (filled once in the page, so screen readers announce it), then
     its buttons. */
  function fillNotice(notice, text, buttons) {
    notice.textContent = "";
    var message = document.createElement("p");
    message.setAttribute("role", "status");
    notice.appendChild(message);
    buttons.forEach(function (button) { notice.appendChild(button); });
    window.setTimeout(function () { message.textContent = text; }, 50);
  }

  function focusOn(el) {
    if (!el) return;
    if (!el.matches("input, select, textarea, button, a[href]")) el.setAttribute("tabindex", "-1");
    el.focus();
  }

  function restoreDraft(form) {
    var name = form.dataset.draft;
    var found = findDraft(name);
    if (!found) return;
    var draft = found.draft;
    var versionField = form.querySelector('input[type="hidden"][name="version"]');
    var startVersion = versionField ? versionField.value : "";
    var missed = setValues(form, draft.values);
    if (JSON.stringify(formValues(form)) === form.dataset.draftStart) {
      drafts.removeItem(found.key);  // nothing in it that is not saved
      return;
    }
    var newer = versionField && draft.version && draft.version !== startVersion;
    if (newer) versionField.value = draft.version;
    if (found.key !== ownKey(name)) drafts.removeItem(found.key);  // this tab carries it on
    saveDraft(form);
    var text = "Restored what you typed on " + draftTimeFormat.format(new Date(draft.saved)) + " and had not saved.";
    if (newer) text += " This issue has been saved since (version " + startVersion + "): saving will show both versions so you can merge them.";
    if (missed.length) text += " Left as saved, since what you chose is no longer there or allowed: " + missed.join(", ") + ".";
    var notice = document.createElement("div");
    notice.className = "draft-notice";
    var first = Array.prototype.find.call(form.children, function (child) {
      return !(child.tagName === "INPUT" && child.type === "hidden");
    });
    form.insertBefore(notice, first || null);
    fillNotice(notice, text, [draftButton("Discard what I typed", function () {
      removeOwnDraft(name);
      setValues(form, JSON.parse(form.dataset.draftStart));
      if (versionField) versionField.value = startVersion;
      notice.remove();
      focusOn(form.querySelector("input:not([type=hidden]), select, textarea"));
    })]);
  }

  /* The page says when an issue or comment shown there has an unsaved edit (after a reload, or signing in
     again), with a way back into its form. */
  function showDraftNotice(holder) {
    var name = holder.dataset.draftNotice;
    var found = findDraft(name);
    var hide = !found || !!document.querySelector('form[data-draft="' + name + '"]');
    if (hide) { holder.hidden = true; holder.textContent = ""; return; }
    if (!holder.hidden) return;
    holder.hidden = false;
    var scope = holder.closest("[data-draft-scope]") || holder.parentNode;
    var edit = scope.querySelector("a[data-edit]");
    var buttons = [];
    if (edit) buttons.push(draftButton("Continue editing", function () { edit.click(); }));
    buttons.push(draftButton("Discard", function () {
      removeEveryDraft(name);
      holder.hidden = true;
      holder.textContent = "";
      focusOn(edit || scope);
    }));
    fillNotice(holder, holder.dataset.draftNoticeText + " (typed " + draftTimeFormat.format(new Date(found.draft.saved)) + ").", buttons);
  }

  function setUpDrafts(root) {
    var scope = root || document;
    var forms = scope.querySelectorAll ? scope.querySelectorAll("form[data-draft]") : [];
    if (scope.matches && scope.matches("form[data-draft]")) forms = [scope];
    Array.prototype.forEach.call(forms, setUpDraftForm);
    Array.prototype.forEach.call(document.querySelectorAll("[data-draft-notice]"), showDraftNotice);
  }

  function setUpDraftForm(form) {
    if (form.dataset.draftReady) return;
    form.dataset.draftReady = "1";
    form.dataset.draftStart = JSON.stringify(formValues(form, true));
    if (form.dataset.draftState === "unsaved") saveDraft(form);
    else restoreDraft(form);
  }

  /* A form sent without htmx (a new issue) ends its draft only when the next page says it was saved (the
     server marks that page); a sign-in page, an error or a failed connection keeps it. */
  function settleSubmittedDraft() {
    var name = tabStore && tabStore.getItem(SUBMITTED);
    if (!name) return;
    tabStore.removeItem(SUBMITTED);
    if (document.querySelector('[data-draft-saved="' + name + '"]')) removeOwnDraft(name);
  }

  function pruneDrafts() {
    var oldest = Date.now() - DRAFT_DAYS * 24 * 3600 * 1000;
    draftKeys(function (key) {
      var draft = parsedDraft(key);
      return !draft || !(draft.saved >= oldest);
    }).forEach(function (key) { drafts.removeItem(key); });
  }

  function onFieldEdit(evt) {
    var form = evt.target.form;
    if (!form || !form.dataset.draft) return;
    setUpDraftForm(form);  // typed into before htmx settled the swap that brought it
    saveDraft(form);
  }
  document.addEventListener("input", onFieldEdit);
  document.addEventListener("change", onFieldEdit);

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.dataset.draft || form.hasAttribute("hx-post")) return;
    saveDraft(form);
    if (tabStore) tabStore.setItem(SUBMITTED, form.dataset.draft);
  });

  /* An htmx save that went through (2xx, not a sign-in redirect) ends its draft; a 409 or 422 keeps it. */
  document.addEventListener("htmx:afterRequest", function (evt) {
    /* The form that sent it (detail.elt is the nearest element still in the page when the swap removed it). */
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    var xhr = evt.detail.xhr;
    if (!elt || !elt.dataset || !elt.dataset.draft || !xhr) return;
    if (xhr.status >= 200 && xhr.status < 300 && !xhr.getResponseHeader("HX-Redirect")) removeOwnDraft(elt.dataset.draft);
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
    removeOwnDraft(form.dataset.draft);
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    pruneDrafts();
    settleSubmittedDraft();
    setUpDrafts(document);
  });
  document.addEventListener("htmx:afterSettle", function (evt) { setUpDrafts(evt.target); });
})();
