/* The import page: drop a file on the form, refuse files over the limit before uploading, show upload progress.
   Loaded only on /import; no inline scripts (CSP). */
(function () {
  "use strict";

  function form() { return document.getElementById("import-form"); }

  function showError(message) {
    var box = form() && form().querySelector(".import-error");
    if (!box) return;
    box.textContent = "";
    var p = document.createElement("p");
    p.textContent = message;
    box.appendChild(p);
    box.hidden = false;
  }

  function progressBox() { return form() && form().querySelector(".upload-progress"); }

  function setProgress(percent, text) {
    var box = progressBox();
    if (!box) return;
    box.hidden = false;
    var bar = box.querySelector("progress");
    var status = box.querySelector(".upload-status");
    if (percent === null) bar.removeAttribute("value"); else bar.value = percent;
    status.textContent = text;
  }

  /* A file over the limit would be refused by the server after uploading it all: say so at once. */
  document.addEventListener("htmx:confirm", function (evt) {
    var f = form();
    if (!f || evt.target !== f) return;
    var input = f.querySelector('input[type="file"]');
    var file = input && input.files && input.files[0];
    var max = parseInt(f.dataset.maxBytes || "0", 10);
    if (!file) {
      evt.preventDefault();
      showError("Choose a CSV file to import.");
    } else if (max && file.size > max) {
      evt.preventDefault();
      showError("The file is larger than the " + f.dataset.limitMb + " MB upload limit. Split it into smaller files (each with the header row) and import them one by one.");
    }
  });

  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (evt.target === form()) setProgress(0, "Starting the upload…");
  });

  document.addEventListener("htmx:xhr:progress", function (evt) {
    if (evt.target !== form() || !evt.detail || !evt.detail.lengthComputable || !evt.detail.total) return;
    var percent = Math.round((evt.detail.loaded / evt.detail.total) * 100);
    if (percent >= 100) setProgress(null, "Uploaded; checking every row…");
    else setProgress(percent, percent + "% uploaded");
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.target !== form() || !evt.detail.failed) return;
    var box = progressBox();
    if (box) box.hidden = true;
  });

  /* Dropping a file anywhere on the page puts it in the file input: a drop that misses the form must not make
     the browser leave the page to show the file. */
  function carriesFiles(evt) {
    var types = evt.dataTransfer && evt.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }
  document.addEventListener("dragover", function (evt) {
    var f = form();
    if (!f || !carriesFiles(evt)) return;
    evt.preventDefault();
    evt.dataTransfer.dropEffect = "copy";
    f.classList.add("dragging");
  });
  document.addEventListener("dragleave", function (evt) {
    var f = form();
    /* Leaving the window (no element entered next) ends the drag over the page. */
    if (f && !evt.relatedTarget) f.classList.remove("dragging");
  });
  document.addEventListener("drop", function (evt) {
    var f = form();
    if (!f || !carriesFiles(evt)) return;
    evt.preventDefault();
    f.classList.remove("dragging");
    var input = f.querySelector('input[type="file"]');
    if (input && evt.dataTransfer.files.length) input.files = evt.dataTransfer.files;
  });

  /* The check page: while the import runs, its button is disabled (a second click would only wait for the first)
     and a busy line says the import is under way. Back from the result page (bfcache), the form is as it was. */
  document.addEventListener("submit", function (evt) {
    var button = document.getElementById("import-button");
    if (!button || evt.submitter !== button || evt.defaultPrevented) return;
    var busy = button.form.querySelector(".import-busy");
    if (busy) busy.hidden = false;
    /* After this event the browser has taken the form's data; disabling now would not drop anything it sends. */
    button.setAttribute("data-busy", "");
    window.setTimeout(function () { button.disabled = true; }, 0);
  });
  /* The Import button follows the chosen policy: "Import 3 issues, skip 2", or off with the reason under "All or
     nothing" while rows are invalid (the server would refuse it). */
  document.addEventListener("change", function (evt) {
    var radio = evt.target;
    var button = document.getElementById("import-button");
    if (!button || !radio.matches || !radio.matches('input[name="policy"]')) return;
    var invalid = parseInt(button.dataset.invalid || "0", 10);
    var skip = radio.value === "skip_invalid";
    var reason = document.getElementById("import-blocked");
    button.textContent = skip ? button.dataset.labelSkip : button.dataset.labelAll;
    if (invalid && !button.hasAttribute("data-blocked")) {
      button.disabled = !skip;
      if (reason) reason.hidden = skip;
    }
  });
  window.addEventListener("pageshow", function (evt) {
    var button = document.getElementById("import-button");
    if (!evt.persisted || !button || !button.hasAttribute("data-busy")) return;
    var busy = button.form.querySelector(".import-busy");
    if (busy) busy.hidden = true;
    button.removeAttribute("data-busy");
    button.disabled = false;
  });
})();
