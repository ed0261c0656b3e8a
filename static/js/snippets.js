/* Snippet picker: insert a saved fact (size chart, shipping times, return rules...) into any
 * <textarea data-snippets> with a keystroke. Dependency-free; attaches by delegation, so boxes
 * created later (the chat console's compose boxes) work too.
 *
 *   "/" at the start of a word   opens the picker; the letters typed after it search
 *   Ctrl+. (Cmd+. on a Mac)      opens the picker with its own search field
 *   Up / Down, Enter             pick, insert at the cursor (replacing the "/word" typed)
 *   Escape                       close, leaving the text as it is
 *
 * Inserting only changes the box's text: the agent edits it and still presses Send. The picker
 * then tells the server the snippet was used (POST /api/v1/snippets/{id}/use) to count it.
 * Results come from GET /api/v1/snippets?q= with the session cookie. */
(function () {
  "use strict";
  if (window.SupportdeskSnippets) return;

  var FIELD = "textarea[data-snippets]";
  var TOKEN = /(^|\s)\/([^\s\/]{0,40})$/; // "/" at a word start, then the query so far
  var LIMIT = 8;

  var picker = null, list = null, search = null, status = null, hint = null;
  // {field, mode: "inline"|"search", start, end, items, active, loading, enterPending}
  var state = null;
  var seq = 0, timer = null, inserting = false;
  var dismissed = null; // {field, start}: the "/word" the agent closed with Escape stays closed

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* fall through */ }
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function build() {
    if (picker) return;
    var style = el("style", {}, [
      ".snippet-picker{position:absolute;z-index:50;background:#fff;border:1px solid #c8ced8;border-radius:8px;",
      "box-shadow:0 8px 28px rgba(0,0,0,.18);padding:.3rem;font-size:14px;max-width:480px}",
      ".snippet-picker input{width:100%;margin-bottom:.3rem}",
      ".snippet-picker ul{list-style:none;margin:0;padding:0;max-height:260px;overflow-y:auto}",
      ".snippet-picker li{padding:.3rem .5rem;border-radius:6px;cursor:pointer}",
      ".snippet-picker li[aria-selected=true]{background:#e0ecff}",
      ".snippet-picker li code{color:#5b6475;margin-left:.4rem}",
      ".snippet-picker li span{display:block;color:#5b6475;font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
      ".snippet-picker p{margin:.2rem .4rem;color:#5b6475;font-size:12px}",
      ".snippet-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}",
    ].join(""));
    document.head.appendChild(style);
    picker = el("div", { class: "snippet-picker", id: "snippet-picker", hidden: "" });
    search = el("input", {
      type: "search", role: "combobox", "aria-label": "Search snippets", "aria-autocomplete": "list",
      "aria-controls": "snippet-options", "aria-expanded": "true", autocomplete: "off",
      placeholder: "Search snippets",
    });
    list = el("ul", { role: "listbox", id: "snippet-options", "aria-label": "Snippets" });
    status = el("p", { role: "status", "aria-live": "polite" });
    picker.appendChild(search);
    picker.appendChild(list);
    picker.appendChild(status);
    picker.appendChild(el("p", {}, "\u2191 \u2193 pick \u00b7 Enter inserts \u00b7 Esc closes \u00b7 nothing is sent"));
    // Clicking in the picker must not take the focus (and the cursor) away from the reply box.
    picker.addEventListener("mousedown", function (e) { if (e.target !== search) e.preventDefault(); });
    picker.addEventListener("click", function (e) {
      var option = e.target.closest && e.target.closest("li[role=option]");
      if (option && state) insert(+option.getAttribute("data-index"));
    });
    search.addEventListener("input", function () { query(search.value); });
    document.body.appendChild(picker);
    hint = el("span", { id: "snippet-hint", class: "snippet-sr" },
      "Type / or press Control+period to insert a snippet.");
    document.body.appendChild(hint);
  }

  function place() {
    if (!state || picker.hidden) return;
    var r = state.field.getBoundingClientRect();
    var width = Math.min(480, Math.max(300, r.width));
    picker.style.width = width + "px";
    picker.style.left = Math.max(4, Math.min(r.left, window.innerWidth - width - 8)) + window.scrollX + "px";
    var h = picker.offsetHeight;
    var below = window.innerHeight - r.bottom;
    var top = below < h + 8 && r.top > below ? r.top - h - 4 : r.bottom + 4;
    picker.style.top = top + window.scrollY + "px";
  }

  function open(field, mode, start, end) {
    build();
    if (!state || state.field !== field || state.mode !== mode) {
      state = { field: field, mode: mode, start: start, end: end, items: [], active: 0, loading: false };
    } else {
      state.start = start; state.end = end;
    }
    search.hidden = mode !== "search";
    picker.hidden = false;
    // aria-expanded is not allowed on a textbox (axe: aria-allowed-attr); the options are tied
    // to it by aria-controls and aria-activedescendant, and the status line announces them.
    field.setAttribute("aria-controls", "snippet-options");
    place();
  }

  function close(refocus) {
    if (!state) return;
    var field = state.field;
    clearTimeout(timer);
    seq++;
    state = null;
    picker.hidden = true;
    list.textContent = "";
    status.textContent = "";
    field.removeAttribute("aria-activedescendant");
    field.removeAttribute("aria-controls");
    search.removeAttribute("aria-activedescendant");
    if (refocus) field.focus();
  }

  function query(q) {
    if (!state) return;
    state.loading = true;
    clearTimeout(timer);
    var mine = ++seq;
    timer = setTimeout(function () {
      Promise.all([
        fetch("/api/v1/snippets?limit=" + LIMIT + "&q=" + encodeURIComponent(q), {
          credentials: "same-origin", headers: { Accept: "application/json" },
        }).then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .catch(function () { return { items: [], failed: true }; }),
        helpArticles(q),
      ]).then(function (both) { return { items: both[0].items.concat(both[1]), failed: both[0].failed }; })
        .then(function (data) {
          if (mine !== seq || !state) return; // a newer query, or closed meanwhile
          state.loading = false;
          state.items = data.items || [];
          state.active = 0;
          render(q, data.failed);
          // Enter was pressed before the results came: insert the best match now.
          if (state.enterPending) { state.enterPending = false; if (state.items.length) insert(0); }
        });
    }, 120);
  }

  // Published help center articles for the same words (every language): picking one inserts a
  // link to it ("Title: URL"), for the customer to read. Nothing is counted as a snippet use.
  function helpArticles(q) {
    if (!q.trim()) return Promise.resolve([]);
    return fetch("/api/v1/help/articles?limit=3&lang=any&q=" + encodeURIComponent(q), {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (d) {
        return (d.items || []).map(function (a) {
          var text = new DOMParser().parseFromString(a.snippet, "text/html").documentElement.textContent;
          return { article: true, id: a.id, title: a.title, shortcut: "article " + a.lang,
                   body: a.title + ": " + a.url, preview: text };
        });
      }).catch(function () { return []; });
  }

  function render(q, failed) {
    list.textContent = "";
    state.items.forEach(function (s, i) {
      var li = el("li", { role: "option", id: "snippet-option-" + i, "data-index": String(i),
        "data-shortcut": s.shortcut, "aria-selected": i === state.active ? "true" : "false" });
      li.appendChild(el("strong", {}, s.title));
      li.appendChild(el("code", {}, s.article ? s.shortcut : "/" + s.shortcut));
      li.appendChild(el("span", {}, (s.preview || s.body).slice(0, 140)));
      list.appendChild(li);
    });
    status.textContent = failed ? "Snippets could not be loaded." : state.items.length
      ? state.items.length + " snippet" + (state.items.length > 1 ? "s" : "") + ", Enter inserts " + state.items[0].title
      : q ? "No snippet matches \u201c" + q + "\u201d." : "No snippets yet.";
    highlight();
    place();
  }

  function highlight() {
    var options = list.children;
    for (var i = 0; i < options.length; i++) {
      options[i].setAttribute("aria-selected", i === state.active ? "true" : "false");
    }
    var owner = state.mode === "search" ? search : state.field;
    if (options[state.active]) {
      owner.setAttribute("aria-activedescendant", options[state.active].id);
      options[state.active].scrollIntoView({ block: "nearest" });
    } else owner.removeAttribute("aria-activedescendant");
  }

  function insert(index) {
    var snippet = state && state.items[index];
    if (!snippet) return;
    var field = state.field;
    var start = state.start, end = state.end;
    if (state.mode === "inline") end = field.selectionStart; // the "/word" typed so far
    close(false);
    field.focus();
    inserting = true;
    field.setRangeText(snippet.body, start, end, "end");
    // Let other listeners (draft state, typing indicators) see the change like typed text.
    field.dispatchEvent(new Event("input", { bubbles: true }));
    inserting = false;
    if (snippet.article) return; // a help center link, not a snippet: nothing to count
    fetch("/api/v1/snippets/" + snippet.id + "/use", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (data) field.dispatchEvent(new CustomEvent("snippet:used", {
        bubbles: true, detail: { id: snippet.id, shortcut: snippet.shortcut, usage_count: data.usage_count },
      }));
    }).catch(function () { /* counting is best effort; the text is already in the box */ });
  }

  function checkToken(field) {
    if (inserting) return;
    var caret = field.selectionStart;
    if (caret !== field.selectionEnd) { if (state && state.mode === "inline") close(false); return; }
    var m = TOKEN.exec(field.value.slice(0, caret));
    var start = m ? caret - m[2].length - 1 : -1;
    if (m && dismissed && dismissed.field === field && dismissed.start === start) return;
    dismissed = null;
    if (m) {
      open(field, "inline", start, caret);
      query(m[2]);
    } else if (state && state.mode === "inline" && state.field === field) close(false);
  }

  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches(FIELD)) checkToken(e.target);
  });
  // The cursor moved without typing: follow it (or close when it left the "/word").
  document.addEventListener("click", function (e) {
    if (state && state.mode === "inline" && e.target === state.field) checkToken(e.target);
  });
  document.addEventListener("keyup", function (e) {
    if (state && state.mode === "inline" && e.target === state.field &&
        /^(ArrowLeft|ArrowRight|Home|End)$/.test(e.key)) checkToken(e.target);
  });
  document.addEventListener("focusin", function (e) {
    var t = e.target;
    if (t.matches && t.matches(FIELD)) {
      build();
      var described = t.getAttribute("aria-describedby") || "";
      if (described.indexOf("snippet-hint") < 0) t.setAttribute("aria-describedby", (described + " snippet-hint").trim());
    }
    if (state && t !== state.field && t !== search) close(false);
  });
  window.addEventListener("resize", place);
  window.addEventListener("scroll", place, true);

  // Capture phase: the picker sees the keys before the page's own handlers (the chat box sends
  // on Enter, the ticket page leaves the box on Escape) and stops the ones it uses.
  document.addEventListener("keydown", function (e) {
    if (e.isComposing) return;
    var t = e.target;
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key === "." && t.matches && t.matches(FIELD)) {
      e.preventDefault();
      e.stopPropagation();
      open(t, "search", t.selectionStart, t.selectionEnd);
      search.value = "";
      search.focus();
      query("");
      return;
    }
    if (!state || (t !== state.field && t !== search)) return;
    var used = true;
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && state.items.length) {
      var n = state.items.length;
      state.active = (state.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      highlight();
    } else if (e.key === "Enter" && !e.shiftKey) {
      if (state.items.length && !state.loading) insert(state.active);
      else if (state.loading) state.enterPending = true; // never let this Enter send "/word"
      else if (state.mode === "inline") { close(false); used = false; }
    } else if (e.key === "Escape") {
      if (state.mode === "inline") dismissed = { field: state.field, start: state.start };
      close(state.mode === "search");
    } else if (e.key === "Tab" && state.mode === "search") {
      close(true);
    } else used = false;
    if (used) { e.preventDefault(); e.stopPropagation(); }
  }, true);

  window.SupportdeskSnippets = { close: function () { close(false); } };
})();
