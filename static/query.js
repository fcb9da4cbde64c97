/* The issue list's filter form and query box are two views of one query (tracker/issues/form.py). Choosing a
   filter writes its qualifier into the box, replacing the qualifiers it stands for, before htmx sends the form;
   typing a qualifier sets the fields from the server's answer. Without this script the server does the same
   from the fields it is sent. No inline scripts (CSP). */
(function () {
  "use strict";

  /* What each field stands for in the query: its positive qualifiers of these keys are replaced. */
  var REPLACES = {
    status: ["is", "status"],
    priority: ["priority"],
    assignee: ["assignee", "no:assignee"],
    label: ["label", "no:label"],
    sort: ["sort"]
  };

  /* Split at white space outside double quotes (a quote left open runs to the end; inside quotes \" is a quote and
     \\ a backslash), as the server does (tracker/search/query.py). */
  function tokens(text) {
    var found = [], current = "", quoted = false;
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (quoted && ch === "\\" && (text.charAt(i + 1) === '"' || text.charAt(i + 1) === "\\")) {
        current += ch + text.charAt(i + 1);
        i++;
        continue;
      }
      if (ch === '"') quoted = !quoted;
      if (/\s/.test(ch) && !quoted) {
        if (current) found.push(current);
        current = "";
      } else {
        current += ch;
      }
    }
    if (current) found.push(current);
    return found;
  }

  /* The key a token replaces by ("label", "no:assignee"), or "" for words and negated qualifiers. */
  function keyOf(token) {
    if (token.charAt(0) === "-") return "";
    var match = /^([A-Za-z_]+):(.*)$/.exec(token);
    if (!match) return "";
    var key = match[1].toLowerCase();
    return key === "no" ? "no:" + match[2].toLowerCase() : key;
  }

  /* A value as the server prints it: in double quotes when it holds white space, a comma or a quote, its quotes and
     backslashes escaped (label:"say \"hi\""). */
  function quoted(value) {
    if (!/[\s,"]/.test(value) && value !== "") return value;
    return '"' + value.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
  }

  function chosen(select) {
    var values = [];
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].selected && select.options[i].value) values.push(select.options[i].value);
    }
    return values;
  }

  function sameSet(a, b) {
    return a.length === b.length && a.every(function (v) { return b.indexOf(v) >= 0; });
  }

  /* The qualifiers a field's value writes into the query. */
  function fragment(form, name) {
    if (name === "status") {
      var statuses = chosen(form.querySelector('select[name="status"]'));
      if (!statuses.length) return [];
      if (sameSet(statuses, ["open", "in_progress"])) return ["is:open"];
      if (sameSet(statuses, ["resolved", "closed"])) return ["is:closed"];
      return ["status:" + statuses.join(",")];
    }
    if (name === "priority") {
      var priorities = chosen(form.querySelector('select[name="priority"]'));
      return priorities.length ? ["priority:" + priorities.join(",")] : [];
    }
    if (name === "assignee") {
      var value = form.querySelector('select[name="assignee"]').value;
      if (!value) return [];
      if (value === "none") return ["no:assignee"];
      if (value === "@me") return ["assignee:@me"];
      var handles = JSON.parse(form.getAttribute("data-handles") || "{}");
      return handles[value] ? ["assignee:" + handles[value]] : [];
    }
    if (name === "label") {
      var boxes = form.querySelectorAll('input[name="label"]:checked');
      var labels = [];
      for (var i = 0; i < boxes.length; i++) labels.push("label:" + quoted(boxes[i].value));
      return labels;
    }
    var sort = form.querySelector('select[name="sort"]').value;
    if (!sort || sort === "-updated") return [];
    return ["sort:" + sort.replace(/^-/, "") + (sort.charAt(0) === "-" ? "-desc" : "-asc")];
  }

  /* Rewrite the box for a changed field: its qualifiers out, the field's value in at the end. */
  function writeField(form, name) {
    var box = form.querySelector('input[name="q"]');
    var replaced = REPLACES[name];
    var kept = tokens(box.value).filter(function (token) { return replaced.indexOf(keyOf(token)) < 0; });
    box.value = kept.concat(fragment(form, name)).join(" ");
  }

  /* Capture phase: the box is rewritten before htmx (listening for changes on the form, so that fields sent anew
     by the server are heard too) sends the form. The box's own change (leaving it) is not sent again: its typing
     was. */
  document.addEventListener("change", function (evt) {
    var target = evt.target;
    var form = target.closest && target.closest("form[data-query-form]");
    if (!form) return;
    if (target.name === "q") {
      evt.stopPropagation();
      return;
    }
    if (target.name && REPLACES[target.name]) writeField(form, target.name);
  }, true);
})();
