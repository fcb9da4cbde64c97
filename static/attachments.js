/* Attachments on the issue page and the new-issue form: drop files on a form with a file field, paste or drop an
   image into a Markdown field (it is attached and `![name](link)` is typed at the cursor), refuse files over the
   limit before sending them, and show upload progress. Without this script the forms' plain file fields work.
   Loaded by the issue page and the new-issue page; no inline scripts (CSP). */
(function () {
  "use strict";

  var MB = 1024 * 1024;

  function formOf(el) { return el && el.closest ? el.closest("form[data-attach-form]") : null; }
  function fileInput(form) { return form && form.querySelector('input[type="file"]'); }
  function attachNowForm() { return document.querySelector("form[data-attach-now]"); }
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  /* A size as the server words it: "820 bytes", "14 KB", "3.2 MB", "25 MB". */
  var UNITS = [["GB", 1024 * MB], ["MB", MB], ["KB", 1024]];
  function humanSize(size) {
    for (var i = 0; i < UNITS.length; i++) {
      var value = size / UNITS[i][1];
      if (value < 1) continue;
      var tenths = Math.round(value * 10) / 10;
      return (value < 10 && tenths !== Math.round(tenths) ? tenths.toFixed(1) : value.toFixed(0)) + " " + UNITS[i][0];
    }
    return size + (size === 1 ? " byte" : " bytes");
  }

  /* A message next to the form's file field (the server's own messages appear in the same place). */
  function showFileError(form, message) {
    var input = fileInput(form);
    var field = input && input.closest(".field");
    if (!field) return;
    var box = field.querySelector("[data-client-error]");
    if (!box) {
      box = document.createElement("p");
      box.className = "field-error";
      box.setAttribute("data-client-error", "");
      box.setAttribute("role", "alert");
      field.appendChild(box);
    }
    box.textContent = message;
    field.classList.toggle("has-error", !!message);
    if (!message) box.remove();
  }

  /* The first file over the limit, as the server would word it, or "". */
  function tooLarge(form, files) {
    var max = parseInt(form.dataset.maxBytes || "0", 10);
    for (var i = 0; max && i < files.length; i++) {
      if (files[i].size > max) {
        return files[i].name + " is " + humanSize(files[i].size) + "; files of up to " + humanSize(max) + " can be attached.";
      }
    }
    return "";
  }

  function setProgress(form, percent, text) {
    var box = form && form.querySelector(".upload-progress");
    if (!box) return;
    box.hidden = percent === false;
    var bar = box.querySelector("progress");
    if (percent === null) bar.removeAttribute("value"); else if (percent !== false) bar.value = percent;
    box.querySelector(".upload-status").textContent = text || "";
  }

  /* Add files to a form's file field, after those chosen already. */
  function addFiles(input, files) {
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files || [], function (f) { all.items.add(f); });
    Array.prototype.forEach.call(files, function (f) { all.items.add(f); });
    input.files = all.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  /* A pasted screenshot is called "image.png" by every browser: give each its own name. */
  var pasted = 0;
  function named(file) {
    if (file.name && file.name !== "image.png" && file.name !== "image.jpeg") return file;
    var stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    pasted += 1;
    var extension = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
    return new File([file], "pasted-" + stamp + (pasted > 1 ? "-" + pasted : "") + "." + extension, { type: file.type });
  }

  /* Like Python's quote(name, safe=""), so the server finds `attachment:<name>` links again. */
  function encodeName(name) {
    return encodeURIComponent(name).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function markdownFor(name, url, image) { return (image ? "!" : "") + "[" + name.replace(/[\[\]]/g, "") + "](" + url + ")"; }

  function typeAtCursor(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    var before = textarea.value.slice(0, start);
    var spaced = (before && !/\s$/.test(before) ? " " : "") + text;
    textarea.focus();
    textarea.setRangeText(spaced, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));  /* drafts.js keeps it */
  }

  function replaceText(textarea, from, to) {
    var at = textarea.value.indexOf(from);
    if (at === -1) return;
    var cursor = textarea.selectionStart;
    textarea.value = textarea.value.slice(0, at) + to + textarea.value.slice(at + from.length);
    if (cursor > at) textarea.selectionStart = textarea.selectionEnd = cursor + to.length - from.length;
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /* Files pasted or dropped into a Markdown field. In a form that sends files (new issue, new comment) they join its
     file field and the link names them (`attachment:<name>`, pointed at the file when the form is saved); elsewhere
     (an edit) they are attached to the issue at once and the link is the file's. */
  function filesIntoText(textarea, files) {
    var form = textarea.form;
    var input = form && form.querySelector("input[type=file][data-attach-input]");
    files = Array.prototype.map.call(files, named);
    if (input) {
      var problem = tooLarge(formOf(input), files);
      if (problem) { showFileError(formOf(input), problem); return; }
      addFiles(input, files);
      typeAtCursor(textarea, files.map(function (f) {
        return markdownFor(f.name, "attachment:" + encodeName(f.name), f.type.indexOf("image/") === 0);
      }).join("\n"));
      return;
    }
    var target = attachNowForm();
    if (!target) return;
    var problem2 = tooLarge(target, files);
    if (problem2) { showFileError(target, problem2); return; }
    uploadNow(target, textarea, files);
  }

  function uploadNow(form, textarea, files) {
    var marks = files.map(function (f) { return "[Uploading " + f.name.replace(/[\[\]]/g, "") + "…]()"; });
    typeAtCursor(textarea, marks.join("\n"));
    var data = new FormData();
    files.forEach(function (f) { data.append("file", f); });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("HX-Request", "true");
    xhr.setRequestHeader("HX-Target", "issue-attachments");
    xhr.upload.addEventListener("progress", function (evt) {
      if (evt.lengthComputable) progress(form, evt.loaded, evt.total);
    });
    xhr.addEventListener("load", function () {
      setProgress(form, false);
      var attached = [];
      try { attached = JSON.parse(xhr.getResponseHeader("HX-Trigger") || "{}")["tracker:attached"] || []; } catch (e) { attached = []; }
      files.forEach(function (f, i) {
        var done = attached[i];
        replaceText(textarea, marks[i], done ? markdownFor(done.name, done.url, done.image) : "");
      });
      var section = document.getElementById("issue-attachments");
      if (section && xhr.responseText && (xhr.status === 200 || xhr.status === 413 || xhr.status === 422)) {
        section.outerHTML = xhr.responseText;
        htmx.process(document.getElementById("issue-attachments"));
      }
      if (xhr.status === 200) htmx.trigger(document.body, "issue-changed");
    });
    xhr.addEventListener("error", function () {
      setProgress(form, false);
      marks.forEach(function (m) { replaceText(textarea, m, ""); });
      document.body.dispatchEvent(new CustomEvent("tracker:error", { detail: { message: "Tracker could not be reached; the file was not attached." } }));
    });
    setProgress(form, 0, "Starting the upload…");
    xhr.send(data);
  }

  function progress(form, loaded, total) {
    var percent = Math.round((loaded / total) * 100);
    if (percent >= 100) setProgress(form, null, "Uploaded; checking the files…");
    else setProgress(form, percent, percent + "% of " + humanSize(total) + " uploaded");
  }

  document.addEventListener("paste", function (evt) {
    var textarea = evt.target;
    if (!textarea.matches || !textarea.matches("textarea[data-markdown]")) return;
    var files = evt.clipboardData && evt.clipboardData.files;
    if (!files || !files.length) return;  /* plain text: the browser pastes it */
    evt.preventDefault();
    filesIntoText(textarea, files);
  });

  /* Dragging files: over a Markdown field they go into the text, over an attach form into its file field (the issue
     page's attaches them at once); a drop that misses both must not make the browser leave the page. */
  function carriesFiles(evt) {
    var types = evt.dataTransfer && evt.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }
  function dropTarget(el) {
    if (el && el.matches && el.matches("textarea[data-markdown]")) return el;
    return formOf(el);
  }
  var highlighted = null;
  function highlight(el) {
    if (highlighted && highlighted !== el) highlighted.classList.remove("dragging");
    highlighted = el;
    if (el) el.classList.add("dragging");
  }
  document.addEventListener("dragover", function (evt) {
    if (!carriesFiles(evt) || !document.querySelector("form[data-attach-form]")) return;
    evt.preventDefault();
    var target = dropTarget(evt.target);
    evt.dataTransfer.dropEffect = target ? "copy" : "none";
    highlight(target);
  });
  document.addEventListener("dragleave", function (evt) { if (!evt.relatedTarget) highlight(null); });
  document.addEventListener("drop", function (evt) {
    if (!carriesFiles(evt) || !document.querySelector("form[data-attach-form]")) return;
    evt.preventDefault();
    highlight(null);
    var target = dropTarget(evt.target);
    var files = evt.dataTransfer.files;
    if (!target || !files.length) return;
    if (target.matches("textarea")) { filesIntoText(target, files); return; }
    var input = fileInput(target);
    var problem = tooLarge(target, files);
    showFileError(target, problem);
    if (problem || !input) return;
    addFiles(input, files);
    if (target.hasAttribute("data-attach-now")) target.requestSubmit();
  });

  /* Files over the limit are refused before they are sent. */
  document.addEventListener("change", function (evt) {
    var form = formOf(evt.target);
    if (form && evt.target.matches('input[type="file"]')) showFileError(form, tooLarge(form, evt.target.files));
  });
  document.addEventListener("htmx:confirm", function (evt) {
    var form = formOf(evt.target);
    var input = form === evt.target ? fileInput(form) : null;
    if (!input) return;
    var problem = tooLarge(form, input.files);
    if (problem) { evt.preventDefault(); showFileError(form, problem); }
  });
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches("form[data-attach-form]") || form.hasAttribute("hx-post")) return;
    var input = fileInput(form);
    var files = (input && input.files) || [];
    var problem = tooLarge(form, files);
    if (problem) { evt.preventDefault(); showFileError(form, problem); return; }
    if (files.length) {
      var total = Array.prototype.reduce.call(files, function (sum, f) { return sum + f.size; }, 0);
      setProgress(form, null, "Sending " + files.length + " file" + (files.length === 1 ? "" : "s") + " (" + humanSize(total) + ")…");
    }
  });

  /* Progress of the htmx forms that send files (the issue page's attach form, the comment form). */
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = formOf(evt.target);
    var input = fileInput(form);
    if (!form || !input || !input.files.length || !evt.detail || !evt.detail.lengthComputable) return;
    progress(form, evt.detail.loaded, evt.detail.total);
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = formOf(evt.target);
    if (form) setProgress(form, false);
  });
  /* A file refused for its size (413) comes back as the form with the reason: show it like a 422. */
  document.addEventListener("htmx:beforeSwap", function (evt) {
    if (evt.detail.xhr.status === 413 && formOf(evt.detail.requestConfig && evt.detail.requestConfig.elt)) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
})();
