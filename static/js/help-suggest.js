/* Help center suggestions on the contact form (/support/new): as the customer types the subject
 * or the message, up to three published articles that may answer it are shown (debounced), in
 * the page's language. Dependency-free; without JavaScript the form works as before. */
(function () {
  "use strict";
  var box = document.querySelector("[data-help-suggest]");
  if (!box) return;
  var form = box.closest("form");
  var fields = [form.querySelector("[name=subject]"), form.querySelector("[name=message]")].filter(Boolean);
  var list = box.querySelector("ul");
  var lang = box.getAttribute("data-lang") || document.documentElement.lang || "";
  var timer = null, seq = 0;

  function render(items) {
    list.textContent = "";
    items.forEach(function (a) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = a.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = a.title;
      li.appendChild(link);
      var p = document.createElement("p");
      p.className = "muted small";
      // The server escapes the text and marks matched words with <mark>: only those are kept.
      a.snippet.split(/(<mark>.*?<\/mark>)/).forEach(function (part) {
        var m = /^<mark>(.*)<\/mark>$/.exec(part);
        var text = new DOMParser().parseFromString(m ? m[1] : part, "text/html").documentElement.textContent;
        if (m) { var mark = document.createElement("mark"); mark.textContent = text; p.appendChild(mark); }
        else p.appendChild(document.createTextNode(text));
      });
      li.appendChild(p);
      list.appendChild(li);
    });
    box.hidden = !items.length;
  }

  function suggest() {
    clearTimeout(timer);
    var q = fields.map(function (f) { return f.value; }).join(" ").trim().slice(0, 200);
    var mine = ++seq;
    if (q.length < 3) { render([]); return; }
    timer = setTimeout(function () {
      fetch("/api/v1/help/articles?limit=3&lang=" + encodeURIComponent(lang) + "&q=" + encodeURIComponent(q), {
        headers: { Accept: "application/json" },
      }).then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (d) { if (mine === seq) render(d.items || []); })
        .catch(function () { /* no suggestions; the form still works */ });
    }, 350);
  }
  fields.forEach(function (f) { f.addEventListener("input", suggest); });
})();
