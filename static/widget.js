/* Supportdesk chat widget: <script src="BASE/widget.js" async></script>
 * Dependency-free. Lives in a shadow root so the host page's CSS cannot reach it.
 * Identity verification: set window.SupportdeskChat = {name, email, user_hash} before the tag,
 * with user_hash = hex HMAC-SHA256(email, SUPPORTDESK_WIDGET_SECRET) computed by the shop server,
 * or, to make a leaked one stop working, "<unix expiry>." + hex HMAC-SHA256(email + ":" + expiry).
 * Without a valid user_hash the email is only a claim until the visitor confirms an emailed code.
 * Routing: {team: "returns"} (or data-team="returns" on the tag) sends the chat to that team.
 * Protocol: every message carries a client_id and is resent until acked (the server stores it
 * once); messages are kept by server seq, and a gap or a reconnect sends {type:"resume"}. */
(function () {
  "use strict";
  if (window.__supportdeskChat) return;
  window.__supportdeskChat = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var base = new URL(script ? script.src : "/widget.js", location.href).origin;
  var wsBase = base.replace(/^http/, "ws");
  var cfg = window.SupportdeskChat || {};
  // Which team answers (its slug): SupportdeskChat.team or <script data-team="returns">.
  var team = cfg.team || (script && script.getAttribute("data-team")) || "";
  var KEY = "supportdesk.chat:" + base;

  // Words: English is built in (EN, the same table as livechat/widget_strings.py); another
  // language's are fetched once before the widget is built (GET /api/v1/widget/strings, cached by
  // the browser). The language: the `lang` option (data-lang on this script tag, or
  // SupportdeskChat.lang), else the page's <html lang>, else the browser's (its Accept-Language);
  // a language we do not speak means English.
  var EN = /*strings*/{"chat":"Chat with us","open":"Open chat with us","close":"Close chat","start_label":"Start a chat","hi":"Hi! Tell us who you are and what you need.","name":"Name","email":"Email","question":"Your question","start":"Start chat","messages":"Messages","send_label":"Send a message","type":"Type your message","write":"Write a message\u2026","attach":"Attach a photo or PDF","send":"Send","no_one":"No one online? Leave a message","progress":"Upload progress","types":"You can send photos and PDFs.","upload_failed":"Upload failed","no_file":"File not available","typing":"{name} is typing\u2026","expired":"Your chat session expired. Please start a new chat.","reconnecting":"Reconnecting\u2026","waiting":"Waiting for an agent\u2026","shortly":"Someone will be with you shortly.","minute":"Usually answered within a minute or two.","minutes":"Usually answered in about {minutes} minutes.","meanwhile":"You can keep writing meanwhile.","confirm_label":"Confirm your email","confirm_note":"Confirm your email so we can look up your orders.","email_code":"Email me a code","code":"Code from the email","confirm":"Confirm","code_sent":"We emailed a code to {to}.","rate_label":"Rate this chat","how":"How did we do? 1 is poor, 5 is great.","rating":"Rating","comment":"Comment (optional)","send_rating":"Send rating","again":"Start a new chat","choose":"Choose a rating from 1 to 5.","rated":"Thank you! You rated this chat {rating} of 5. You can change it for 7 days.","leave_label":"Leave a message","offline":"No one is online right now. Leave a message and we will answer by email.","message":"Message","send_message":"Send message","thanks":"Thanks! We got your message and will answer by email at {email}.","online":"We're online.","away":"We're away.","away_back":"We're away, back at {when} (your time).","away_leave":"Leave a message and we will answer by email.","orders":"My orders","earlier":"Earlier conversations","back":"\u2190 Back","no_orders":"No orders yet.","order":"Order {id}","shipment":"Shipment","due":"due {date}","track":"Track {tracking}","ask":"Ask about this order","about_order":"About order {id}: ","nothing":"Nothing yet.","chat_of":"Chat of {date}","write_again":"Write again to reopen","reopen":"Reopen","reopened":"Reopened: we will answer by email ({status}).","st_pending":"Pending","st_paid":"Paid","st_payment_failed":"Payment failed","st_processing":"Being prepared","st_shipped":"Shipped","st_in_transit":"On its way","st_delivered":"Delivered","st_late":"Running late","st_returned":"Returned","st_refunded":"Refunded","st_cancelled":"Cancelled","suggested":"Suggested articles","may_help":"These articles may help:","answered":"This answered my question","glad":"Glad it helped!","failed":"Something went wrong. Please try again.","e_rate_limited":"Too many tries. Please wait a moment and try again.","e_invalid":"Please check what you entered and try again.","e_chat_ended":"This chat has ended.","e_wrong_code":"That code is not right. Please try again.","e_too_many_attempts":"Too many wrong codes. Please ask for a new one.","e_empty_body":"Please write a message.","e_no_email":"Give your email address first."}/*end*/;
  var LANGS = ["en", "es", "de"];
  var lang = pickLang(), T = EN;
  function pickLang() {
    var asked = [script && script.getAttribute("data-lang"), cfg.lang, document.documentElement.lang]
      .concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < asked.length; i++) {
      if (!asked[i]) continue;
      var code = String(asked[i]).toLowerCase().split(/[-_]/)[0];
      return LANGS.indexOf(code) >= 0 ? code : "en";
    }
    return "en";
  }
  function t(key, args) {
    var text = T[key] || EN[key];
    for (var k in args || {}) text = text.split("{" + k + "}").join(args[k]);
    return text;
  }
  // A shop's status code in words when we know it ("in_transit" -> "On its way"), else as sent.
  function said(code) {
    return T["st_" + code] || EN["st_" + code] || String(code || "").replace(/_/g, " ");
  }
  // A refusal from the server: its own (English) words on an English page, ours otherwise.
  function problem(d, fallback) {
    if (lang === "en" && d && d.detail) return d.detail;
    return (d && T["e_" + d.code]) || t(fallback || "failed");
  }
  if (lang === "en") start();
  else fetch(base + "/api/v1/widget/strings?lang=" + lang)
    .then(function (r) { return r.json(); })
    .then(function (d) { if (d.lang === lang) T = d.strings; })
    .catch(function () { /* English then */ })
    .then(start);

  function start() {

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  var state = load(); // {token, conversation_id, name, email}

  var ws = null, attempts = 0, retryTimer = null, lastSeq = 0, resumeAsked = 0;
  var seen = {}, pending = {}, nodes = {}, typingTimer = null, lastTyping = 0, agentsOnline = true;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }

  var CSS =
    ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483646;border:0;border-radius:28px;padding:14px 20px;background:#1f5f4a;color:#fff;font-weight:600;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".launch:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #f2b233;outline-offset:2px}" +
    ".badge{display:inline-block;min-width:18px;margin-left:6px;border-radius:9px;background:#f2b233;color:#222;font-size:12px;padding:0 5px}" +
    ".panel{position:fixed;right:20px;bottom:84px;z-index:2147483647;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;color:#1d1d1d;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}" +
    ".panel[hidden],[hidden]{display:none!important}" +
    ".head{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;background:#1f5f4a;color:#fff}" +
    ".head h2{margin:0;font-size:16px;font-weight:600;color:#fff}" +
    ".x{background:none;border:0;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:2px 6px}" +
    ".status{padding:6px 14px;font-size:12px;color:#5b4a00;background:#fff6d6}.status:empty{display:none}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f6f7f6}" +
    ".m{max-width:82%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word;background:#fff;border:1px solid #e2e2e2;align-self:flex-start}" +
    ".m.visitor{align-self:flex-end;background:#dff1e9;border-color:#bfe0d1}.m.system{align-self:center;background:none;border:0;color:#666;font-size:12px;text-align:center}" +
    ".waiting{margin:8px 12px 0;padding:8px 10px;border-radius:8px;background:#fff8e6;border:1px solid #f0d9a0;font-size:13px}.at{display:block;font-size:10px;color:#666;margin-top:2px}.rate{flex:none;max-height:45%;overflow-y:auto}" +
    ".m.pending{opacity:.6}.m.failed{border-color:#c33}.who{display:block;font-size:11px;color:#666}" +
    ".typing{padding:0 14px 4px;font-size:12px;color:#666;min-height:16px}" +
    "form{display:flex;flex-direction:column;gap:8px;padding:12px}label{font-size:12px;color:#444;display:flex;flex-direction:column;gap:3px}" +
    "input,textarea{width:100%;padding:8px;border:1px solid #bbb;border-radius:6px;background:#fff;color:#1d1d1d}textarea{resize:none}" +
    ".send{display:flex;flex-direction:row;gap:6px;border-top:1px solid #e2e2e2;padding:8px}" +
    ".btn{border:0;border-radius:6px;padding:9px 14px;background:#1f5f4a;color:#fff;font-weight:600;cursor:pointer}.btn.link{background:none;color:#1f5f4a;padding:4px;text-decoration:underline}" +
    "p{margin:0 0 4px}.note{padding:12px;color:#333}" +
    ".rate{border-top:1px solid #e2e2e2}.stars{display:flex;gap:6px}.stars button{flex:1;padding:8px 0;border:1px solid #1f5f4a;border-radius:6px;background:#fff;color:#1f5f4a;font-weight:600;cursor:pointer}.stars button[aria-pressed=true]{background:#1f5f4a;color:#fff}" +
    ".files{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}.files img{max-width:160px;max-height:120px;border-radius:6px;cursor:pointer;display:block}.files button{background:none;border:0;padding:0;color:#1f5f4a;text-decoration:underline;cursor:pointer}progress{width:100%}.attach{font-size:18px;padding:4px 6px}" +
    ".hours{font-size:12px;color:#1f5f4a;font-weight:600}.acct{overflow-y:auto;flex:1}.order,.ticket{border:1px solid #e2e2e2;border-radius:6px;padding:8px;margin:6px 0}.acct-links{display:flex;gap:8px}" +
    ".help ul{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}.help li{padding:6px 8px;border:1px solid #e2e2e2;border-radius:6px}.help a{color:#1f5f4a;font-weight:600}mark{background:#fff1a8;color:inherit}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100%;max-height:100%;border-radius:0}}";

  var host = el("div", { id: "supportdesk-chat" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.appendChild(el("style", {}, CSS));

  var launcher = el("button", { class: "launch", type: "button", "aria-label": t("open"), "aria-expanded": "false", "aria-controls": "sd-panel" }, t("chat"));
  var badge = el("span", { class: "badge", hidden: "" });
  launcher.appendChild(badge);

  var panel = el("section", { class: "panel", id: "sd-panel", role: "dialog", "aria-label": t("chat"), hidden: "" });
  var header = el("div", { class: "head" }); // not <header>: the shop page has its own banner
  header.appendChild(el("h2", {}, t("chat")));
  var closeBtn = el("button", { class: "x", type: "button", "aria-label": t("close") }, "\u00d7");
  header.appendChild(closeBtn);
  var status = el("div", { class: "status", role: "status", "aria-live": "polite" });

  // Pre-chat form.
  var pre = el("form", { "aria-label": t("start_label") });
  pre.appendChild(el("p", {}, t("hi")));
  function field(form, label, name, type, required) {
    var l = el("label", {}, label);
    var input = el(type === "textarea" ? "textarea" : "input", { name: name, rows: "3" });
    if (type !== "textarea") input.type = type;
    if (required) input.required = true;
    l.appendChild(input);
    form.appendChild(l);
    return input;
  }
  var preName = field(pre, t("name"), "name", "text", false);
  var preEmail = field(pre, t("email"), "email", "email", false);
  var preQuestion = field(pre, t("question"), "question", "textarea", true);
  var helpBox = helpSuggest(preQuestion);
  pre.appendChild(helpBox.node);
  pre.appendChild(el("button", { class: "btn", type: "submit" }, t("start")));

  // Chat view.
  var chat = el("div", { hidden: "" });
  chat.style.cssText = "display:flex;flex-direction:column;flex:1;min-height:0";
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("messages") });
  var typing = el("div", { class: "typing", "aria-live": "polite" });
  var composer = el("form", { class: "send", "aria-label": t("send_label") });
  var input = el("textarea", { rows: "2", "aria-label": t("type"), placeholder: t("write") });
  var attachBtn = el("button", { class: "btn link attach", type: "button", "aria-label": t("attach"), title: t("attach") }, "\ud83d\udcce");
  var picker = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", multiple: "", hidden: "" });
  composer.appendChild(attachBtn);
  composer.appendChild(picker);
  composer.appendChild(input);
  composer.appendChild(el("button", { class: "btn", type: "submit" }, t("send")));
  var offlineLink = el("button", { class: "btn link", type: "button", hidden: "" }, t("no_one"));
  // An unverified email is only a claim: a one-time code emailed to it proves it (then the
  // desk links this chat to that customer's orders and history).
  var verify = el("form", { class: "note", "aria-label": t("confirm_label"), hidden: "" });
  var verifyNote = el("p", {}, t("confirm_note"));
  var verifyAsk = el("button", { class: "btn link", type: "button" }, t("email_code"));
  var verifyCode = el("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", "aria-label": t("code"), placeholder: "123456", hidden: "" });
  var verifyGo = el("button", { class: "btn", type: "submit", hidden: "" }, t("confirm"));
  [verifyNote, verifyAsk, verifyCode, verifyGo].forEach(function (n) { verify.appendChild(n); });
  chat.appendChild(verify);
  // Until an agent joins, the visitor is told someone is coming and how long that usually takes.
  var waiting = el("p", { class: "waiting", role: "status", hidden: "" });
  chat.appendChild(waiting);
  chat.appendChild(log);
  chat.appendChild(typing);
  chat.appendChild(offlineLink);
  chat.appendChild(composer);

  // CSAT: when the chat ends, 1-5 and a comment replace the composer (rating again changes it).
  var rate = el("form", { class: "rate", "aria-label": t("rate_label"), hidden: "" });
  rate.appendChild(el("p", {}, t("how")));
  var stars = el("div", { class: "stars", role: "group", "aria-label": t("rating") });
  var rating = 0;
  [1, 2, 3, 4, 5].forEach(function (n) {
    var b = el("button", { type: "button", "aria-pressed": "false", "data-rating": n }, String(n));
    b.addEventListener("click", function () {
      rating = n;
      [].forEach.call(stars.children, function (c) { c.setAttribute("aria-pressed", String(c === b)); });
    });
    stars.appendChild(b);
  });
  rate.appendChild(stars);
  var rateComment = field(rate, t("comment"), "comment", "textarea", false);
  rateComment.maxLength = 2000;
  var rateNote = el("p", { class: "who", role: "status" });
  rate.appendChild(el("button", { class: "btn", type: "submit" }, t("send_rating")));
  rate.appendChild(rateNote);
  var again = el("button", { class: "btn link", type: "button" }, t("again"));
  rate.appendChild(again);
  chat.appendChild(rate);

  // Offline form.
  var off = el("form", { "aria-label": t("leave_label"), hidden: "" });
  off.appendChild(el("p", {}, t("offline")));
  var offName = field(off, t("name"), "name", "text", false);
  var offEmail = field(off, t("email"), "email", "email", true);
  var offMessage = field(off, t("message"), "message", "textarea", true);
  off.appendChild(el("button", { class: "btn", type: "submit" }, t("send_message")));
  var thanks = el("div", { class: "note", hidden: "", role: "status" });

  var acct = account();
  [header, status, pre, chat, off, thanks, acct.view].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher);
  root.appendChild(panel);

  function show(view) {
    [pre, chat, off, thanks, acct.view].forEach(function (n) { n.hidden = n !== view; });
    chat.style.display = view === chat ? "flex" : "none";
  }

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.firstChild.textContent = open ? t("close") : t("chat");
    // The accessible name holds the visible words (axe: label-content-name-mismatch).
    launcher.setAttribute("aria-label", open ? t("close") : t("open"));
    if (open) {
      badge.hidden = true;
      badge.textContent = "";
      var first = panel.querySelector("form:not([hidden]) input, form:not([hidden]) textarea");
      if (!chat.hidden) first = input;
      if (first) first.focus();
      markRead();
    } else {
      launcher.focus();
    }
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });

  function api(path, body, token) {
    var headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(base + "/api/v1/" + path, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(problem(data));
        return data;
      });
    });
  }

  // --- rendering ---
  function render(frame) {
    var node = nodes[frame.key];
    if (!node) {
      node = nodes[frame.key] = el("div", {});
      // Keep server order: insert before the first message with a higher seq, pending last.
      var after = null;
      if (frame.seq) {
        var kids = log.children;
        for (var i = 0; i < kids.length; i++) {
          var s = +kids[i].getAttribute("data-seq") || Infinity;
          if (s > frame.seq) { after = kids[i]; break; }
        }
      }
      log.insertBefore(node, after);
    }
    node.className = "m " + frame.kind + (frame.pending ? " pending" : "") + (frame.failed ? " failed" : "");
    if (frame.seq) node.setAttribute("data-seq", frame.seq);
    node.textContent = "";
    if (frame.kind === "agent") node.appendChild(el("span", { class: "who" }, frame.name));
    node.appendChild(document.createTextNode(frame.body));
    if (frame.progress != null) node.appendChild(el("progress", { max: "100", value: String(frame.progress), "aria-label": t("progress") }));
    if (frame.attachments && frame.attachments.length) node.appendChild(files(frame.attachments));
    if (frame.failed) node.appendChild(el("span", { class: "who" }, frame.failed));
    if (frame.at) node.appendChild(el("time", { class: "at", datetime: frame.at }, new Date(frame.at).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" })));
    log.scrollTop = log.scrollHeight;
  }

  // --- files: fetched with the visitor token (no cookies cross sites), shown from blob URLs ---
  var blobs = {};
  function blob(url) {
    if (!blobs[url]) blobs[url] = fetch(base + url, { headers: { Authorization: "Bearer " + state.token } })
      .then(function (r) { if (!r.ok) throw new Error(t("no_file")); return r.blob(); })
      .then(function (b) { return URL.createObjectURL(b); });
    return blobs[url];
  }
  function download(a) {
    blob(a.url).then(function (href) {
      var link = el("a", { href: href, download: a.filename });
      root.appendChild(link);
      link.click();
      link.remove();
    }).catch(function (err) { status.textContent = err.message; });
  }
  function files(list) {
    var box = el("div", { class: "files" });
    list.forEach(function (a) {
      if (a.thumbnail_url) {
        var img = el("img", { alt: a.filename, title: a.filename, tabindex: "0" });
        blob(a.thumbnail_url).then(function (href) { img.src = href; }).catch(function () {});
        img.addEventListener("click", function () { download(a); });
        box.appendChild(img);
      } else {
        var b = el("button", { type: "button" }, a.filename);
        b.addEventListener("click", function () { download(a); });
        box.appendChild(b);
      }
    });
    return box;
  }

  function upload(file) {
    if (!/^(image\/(png|jpeg|gif|webp)|application\/pdf)$/.test(file.type)) {
      status.textContent = t("types");
      return;
    }
    var id = uuid(), body = input.value.trim() || file.name;
    input.value = "";
    var shown = { key: id, kind: "visitor", body: body, pending: true, progress: 0 };
    render(shown);
    var xhr = new XMLHttpRequest(), form = new FormData();
    form.append("file", file);
    xhr.open("POST", base + "/api/v1/widget/uploads");
    xhr.setRequestHeader("Authorization", "Bearer " + state.token);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { shown.progress = Math.round((100 * e.loaded) / e.total); render(shown); }
    };
    xhr.onload = function () {
      var d = {};
      try { d = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status !== 201) return render({ key: id, kind: "visitor", body: body, failed: problem(d, "upload_failed") });
      pending[id] = { body: body, attachments: [d], sent: 0 };
      render({ key: id, kind: "visitor", body: body, pending: true, attachments: [d] });
      flush(false);
    };
    xhr.onerror = function () { render({ key: id, kind: "visitor", body: body, failed: t("upload_failed") }); };
    xhr.send(form);
  }
  attachBtn.addEventListener("click", function () { picker.click(); });
  picker.addEventListener("change", function () {
    [].forEach.call(picker.files, upload);
    picker.value = "";
  });

  function onMessage(f) {
    if (f.seq in seen) return;
    seen[f.seq] = true;
    if (f.client_id && pending[f.client_id]) delete pending[f.client_id];
    var key = f.client_id && nodes[f.client_id] ? f.client_id : "s" + f.seq;
    render({ key: key, seq: f.seq, kind: f.author.type, name: f.author.name, body: f.body, attachments: f.attachments, at: f.sent_at });
    if (f.author.type === "agent" || f.author.type === "system") setWaiting(false);
    while (seen[lastSeq + 1]) lastSeq++;
    if (f.seq > lastSeq && Date.now() - resumeAsked > 2000) resume(); // a gap: ask for it
    if (f.author.type === "agent") {
      typing.textContent = "";
      if (panel.hidden) {
        badge.hidden = false;
        badge.textContent = String((+badge.textContent || 0) + 1);
      } else {
        markRead();
      }
    }
  }

  function setWaiting(on) {
    waiting.hidden = !on;
    if (!on) return;
    var usual = state.usual_wait;
    waiting.textContent = t("waiting") + " " + (usual == null ? t("shortly") :
      usual < 90 ? t("minute") : t("minutes", { minutes: Math.round(usual / 60) })) + " " + t("meanwhile");
  }

  function markRead() {
    if (lastSeq && ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "read", seq: lastSeq }));
  }

  function resume() {
    resumeAsked = Date.now();
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "resume", after_seq: lastSeq }));
  }

  // --- the socket ---
  function connect() {
    if (!state.token) return;
    clearTimeout(retryTimer);
    try {
      ws = new WebSocket(wsBase + "/ws/chat/?token=" + encodeURIComponent(state.token));
    } catch (e) {
      return retry();
    }
    ws.onopen = function () {
      attempts = 0;
      status.textContent = "";
      resume();
      flush(true);
    };
    ws.onmessage = function (event) {
      var f;
      try { f = JSON.parse(event.data); } catch (e) { return; }
      if (f.type === "message") onMessage(f);
      else if (f.type === "ack") {
        delete pending[f.client_id];
      } else if (f.type === "sync") {
        // The server's channel layer had a blip: catch up if the chat moved on without us.
        if (f.last_seq > lastSeq) resume();
      } else if (f.type === "ended") {
        ended();
      } else if (f.type === "hello") {
        agentsOnline = !!f.agents_online;
        setWaiting(f.status === "waiting");
        offlineLink.hidden = agentsOnline;
        if (f.status === "ended") ended();
      } else if (f.type === "token") {
        state.token = f.visitor_token;
        save();
      } else if (f.type === "typing" && f.author && f.author.type === "agent") {
        typing.textContent = t("typing", { name: f.author.name });
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.textContent = ""; }, 4000);
      } else if (f.type === "error") {
        var p = f.client_id && pending[f.client_id];
        if (p && f.code !== "rate_limited") {
          delete pending[f.client_id];
          render({ key: f.client_id, kind: "visitor", body: p.body, attachments: p.attachments, failed: problem(f) });
        }
        if (f.code === "chat_ended") ended();
      }
    };
    ws.onclose = function (event) {
      ws = null;
      if (event.code === 4401) {
        // The token is no longer valid: start over with the pre-chat form.
        state = {};
        save();
        status.textContent = t("expired");
        show(pre);
        return;
      }
      retry();
    };
  }

  function retry() {
    status.textContent = t("reconnecting");
    var delay = Math.min(30000, 500 * Math.pow(2, attempts++)) * (0.75 + Math.random() / 2);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  // Resend unacked messages: at once after a (re)connect, later every few seconds.
  function flush(all) {
    if (!ws || ws.readyState !== 1) return;
    var now = Date.now();
    for (var id in pending) {
      var p = pending[id];
      if (all || now - p.sent > 4000) {
        p.sent = now;
        var frame = { type: "message", client_id: id, body: p.body };
        if (p.attachments) frame.attachment_ids = p.attachments.map(function (a) { return a.id; });
        ws.send(JSON.stringify(frame));
      }
    }
  }
  setInterval(function () { flush(false); }, 2000);

  function send(body) {
    body = body.trim();
    if (!body) return;
    var id = uuid();
    pending[id] = { body: body, sent: 0 };
    render({ key: id, kind: "visitor", body: body, pending: true });
    flush(false);
  }

  function openChat() {
    show(chat);
    if (!ws) connect();
  }

  // --- forms ---
  pre.addEventListener("submit", function (e) {
    e.preventDefault();
    var question = preQuestion.value;
    helpBox.stillNeedHelp();
    var body = {
      name: preName.value || cfg.name || "",
      email: preEmail.value || cfg.email || "",
      page_url: location.href,
      user_hash: cfg.user_hash || "",
      visitor_token: state.token || "",
      team: team,
      lang: lang,
    };
    api("widget/sessions", body).then(function (data) {
      state = { token: data.visitor_token, conversation_id: data.conversation_id, name: body.name, email: body.email, verified: data.verified, usual_wait: data.usual_wait_seconds };
      save();
      verify.hidden = !body.email || data.verified;
      if (!data.agents_online || data.open === false) {
        if (data.open === false) hoursNote(data.next_open_at);
        offName.value = body.name;
        offEmail.value = body.email;
        offMessage.value = question;
        show(off);
        return;
      }
      openChat();
      send(question);
      preQuestion.value = "";
      input.focus();
    }).catch(function (err) { status.textContent = err.message; });
  });

  verifyAsk.addEventListener("click", function () {
    api("widget/verification", {}, state.token).then(function (d) {
      verifyNote.textContent = t("code_sent", { to: d.sent_to });
      verifyCode.hidden = verifyGo.hidden = false;
      verifyCode.focus();
    }).catch(function (err) { verifyNote.textContent = err.message; });
  });
  verify.addEventListener("submit", function (e) {
    e.preventDefault();
    api("widget/verification/confirm", { code: verifyCode.value }, state.token).then(function (d) {
      state.token = d.visitor_token;
      state.verified = true;
      save();
      verify.hidden = true;
    }).catch(function (err) { verifyNote.textContent = err.message; });
  });

  composer.addEventListener("submit", function (e) {
    e.preventDefault();
    send(input.value);
    input.value = "";
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      composer.requestSubmit ? composer.requestSubmit() : composer.dispatchEvent(new Event("submit"));
    }
  });
  input.addEventListener("paste", function (e) {
    var list = e.clipboardData && e.clipboardData.files;
    if (!list || !list.length) return; // text pastes as usual
    e.preventDefault();
    [].forEach.call(list, upload);
  });
  input.addEventListener("input", function () {
    if (ws && ws.readyState === 1 && Date.now() - lastTyping > 2000) {
      lastTyping = Date.now();
      ws.send(JSON.stringify({ type: "typing" }));
    }
  });
  offlineLink.addEventListener("click", function () {
    offName.value = state.name || "";
    offEmail.value = state.email || "";
    show(off);
  });
  off.addEventListener("submit", function (e) {
    e.preventDefault();
    api("widget/offline", { name: offName.value, email: offEmail.value, message: offMessage.value, page_url: location.href, lang: lang })
      .then(function () {
        thanks.textContent = t("thanks", { email: offEmail.value });
        show(thanks);
      })
      .catch(function (err) { status.textContent = err.message; });
  });

  function ended() {
    composer.hidden = offlineLink.hidden = true;
    setWaiting(false);
    typing.textContent = "";
    rate.hidden = false;
  }
  rate.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!rating) { rateNote.textContent = t("choose"); return; }
    api("widget/csat", { visitor_token: state.token, rating: rating, comment: rateComment.value })
      .then(function (d) { rateNote.textContent = t("rated", { rating: d.rating }); })
      .catch(function (err) { rateNote.textContent = err.message; });
  });
  again.addEventListener("click", function () {
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    state = { name: state.name, email: state.email };
    save();
    log.textContent = "";
    seen = {}; pending = {}; nodes = {}; lastSeq = 0;
    composer.hidden = false;
    rate.hidden = true;
    show(pre);
  });

  if (cfg.name) preName.value = cfg.name;
  if (cfg.email) preEmail.value = cfg.email;

  // --- the verified visitor's account: "My orders" and "Earlier conversations" ---
  // Shown only when the shop signed the visitor in (user_hash). The visitor token (from
  // POST widget/sessions; an empty waiting chat is invisible to agents) is sent as a Bearer token.
  function account() {
    var view = el("div", { class: "note acct", hidden: "" });
    var links = el("p", { class: "acct-links" });
    if (cfg.user_hash && cfg.email) {
      [[t("orders"), orders], [t("earlier"), earlier]].forEach(function (pair) {
        var b = el("button", { class: "btn link", type: "button" }, pair[0]);
        b.addEventListener("click", pair[1]);
        links.appendChild(b);
      });
      pre.insertBefore(links, pre.firstChild.nextSibling);
    }
    function session() {
      if (state.token) return Promise.resolve(state.token);
      return api("widget/sessions", { name: cfg.name || "", email: cfg.email, page_url: location.href, user_hash: cfg.user_hash, lang: lang })
        .then(function (d) { state = { token: d.visitor_token, conversation_id: d.conversation_id, name: cfg.name || "", email: cfg.email }; save(); return d.visitor_token; });
    }
    function call(method, path, body) {
      return session().then(function (token) {
        return fetch(base + "/api/v1/widget/" + path, {
          method: method, body: body ? JSON.stringify(body) : undefined,
          headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
        }).then(function (r) { return r.json().then(function (d) { if (!r.ok) throw new Error(problem(d)); return d; }); });
      });
    }
    function page(title) {
      view.textContent = "";
      var back = el("button", { class: "btn link", type: "button" }, t("back"));
      back.addEventListener("click", function () { show(pre); });
      view.appendChild(back);
      view.appendChild(el("h3", {}, title));
      show(view);
      return view;
    }
    function fail(err) { status.textContent = err.message; }
    function orders() {
      call("GET", "orders").then(function (d) {
        var v = page(t("orders"));
        if (!d.items.length) v.appendChild(el("p", {}, t("no_orders")));
        d.items.forEach(function (o) {
          var card = el("div", { class: "order", "data-order": o.external_id });
          card.appendChild(el("strong", {}, t("order", { id: o.external_id })));
          card.appendChild(el("p", {}, said(o.status) + " \u00b7 " + o.total + " " + o.currency + " \u00b7 " + new Date(o.placed_at).toLocaleDateString(lang)));
          card.appendChild(el("p", { class: "who" }, o.items.map(function (i) { return i.quantity + " \u00d7 " + i.name; }).join(", ")));
          o.shipments.forEach(function (sh) {
            var line = el("p", {}, (sh.carrier || t("shipment")) + " \u00b7 " + said(sh.status) + (sh.promised_by ? " \u00b7 " + t("due", { date: new Date(sh.promised_by).toLocaleDateString(lang) }) : "") + " \u00b7 ");
            line.appendChild(sh.tracking_url ? el("a", { href: sh.tracking_url, target: "_blank", rel: "noopener" }, t("track", { tracking: sh.tracking })) : document.createTextNode(sh.tracking));
            card.appendChild(line);
          });
          var ask = el("button", { class: "btn", type: "button" }, t("ask"));
          ask.addEventListener("click", function () {
            call("POST", "orders/" + encodeURIComponent(o.external_id) + "/ask").then(function () {
              show(pre);
              preQuestion.value = t("about_order", { id: o.external_id });
              preQuestion.focus();
            }).catch(fail);
          });
          card.appendChild(ask);
          v.appendChild(card);
        });
      }).catch(fail);
    }
    function earlier() {
      call("GET", "history").then(function (d) {
        var v = page(t("earlier"));
        if (!d.chats.length && !d.tickets.length) v.appendChild(el("p", {}, t("nothing")));
        d.chats.forEach(function (c) {
          var b = el("button", { class: "btn link", type: "button" }, t("chat_of", { date: new Date(c.created_at).toLocaleString(lang) }));
          b.addEventListener("click", function () {
            call("GET", "history/chats/" + c.id).then(function (chat) {
              var tv = page(t("chat_of", { date: new Date(chat.created_at).toLocaleString(lang) }));
              chat.messages.forEach(function (m) {
                var line = el("div", { class: "m " + m.author_type });
                line.appendChild(el("span", { class: "who" }, m.author_name));
                line.appendChild(document.createTextNode(m.body));
                tv.appendChild(line);
              });
            }).catch(fail);
          });
          v.appendChild(el("p", {})).appendChild(b);
        });
        d.tickets.forEach(function (tk) {
          var f = el("form", { class: "ticket", "aria-label": tk.subject });
          f.appendChild(el("strong", {}, tk.subject + " (" + tk.status + ")"));
          var msg = field(f, t("write_again"), "message", "textarea", true);
          f.appendChild(el("button", { class: "btn", type: "submit" }, t("reopen")));
          f.addEventListener("submit", function (e) {
            e.preventDefault();
            call("POST", "history/tickets/" + tk.id + "/reopen", { message: msg.value }).then(function (r) {
              f.textContent = "";
              f.appendChild(el("p", { role: "status" }, t("reopened", { status: r.status })));
            }).catch(fail);
          });
          v.appendChild(f);
        });
      }).catch(fail);
    }
    return { view: view };
  }

  // --- business hours: "We're online" / "We're away, back at 09:00 (your time)" ---
  var hoursLine = el("p", { class: "hours", role: "status" });
  pre.insertBefore(hoursLine, pre.firstChild.nextSibling);
  function hoursNote(nextOpen) {
    var text = t("away");
    if (nextOpen) {
      var at = new Date(nextOpen), now = new Date();
      var when = at.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
      if (at.toDateString() !== now.toDateString()) when = at.toLocaleDateString(lang, { weekday: "long" }) + " " + when;
      text = t("away_back", { when: when });
    }
    hoursLine.textContent = text;
    off.firstChild.textContent = text + " " + t("away_leave");
  }
  function checkHours() {
    // A team's chats follow its hours (an unknown team: the shop's).
    var url = base + "/api/v1/business-hours";
    fetch(team ? url + "?team=" + encodeURIComponent(team) : url).then(function (r) {
      return r.ok ? r.json() : fetch(url).then(function (r2) { return r2.json(); });
    }).then(function (h) {
      if (h.open) hoursLine.textContent = t("online");
      else hoursNote(h.next_open_at);
    }).catch(function () { /* unknown: say nothing */ });
  }
  checkHours();

  // --- help center suggestions (before a chat starts) ---
  // As the visitor types the question, a few published articles (GET /api/v1/help/articles, in
  // the widget's language) are offered; "This answered my question" is counted per article, and
  // starting the chat anyway after opening one counts "I still need help" for it.
  function helpSuggest(field) {
    var box = el("div", { class: "help", "aria-live": "polite", hidden: "" });
    var list = el("ul", { "aria-label": t("suggested") });
    box.appendChild(el("p", { class: "who" }, t("may_help")));
    box.appendChild(list);
    var timer = null, seq = 0, opened = {};
    function feedback(id, helpful) {
      return fetch(base + "/api/v1/help/articles/" + id + "/feedback", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ helpful: helpful }),
      }).catch(function () { /* counting is best effort */ });
    }
    function snippet(html) { // the server escapes the text and marks words with <mark>
      var span = el("span", { class: "who" });
      html.split(/(<mark>.*?<\/mark>)/).forEach(function (part) {
        var m = /^<mark>(.*)<\/mark>$/.exec(part);
        var text = new DOMParser().parseFromString(m ? m[1] : part, "text/html").documentElement.textContent;
        span.appendChild(m ? el("mark", {}, text) : document.createTextNode(text));
      });
      return span;
    }
    function render(items) {
      list.textContent = "";
      items.forEach(function (a) {
        var li = el("li", { "data-article": a.id });
        var link = el("a", { href: a.url, target: "_blank", rel: "noopener" }, a.title);
        var yes = el("button", { class: "btn link", type: "button", hidden: "" }, t("answered"));
        link.addEventListener("click", function () { opened[a.id] = true; yes.hidden = false; });
        yes.addEventListener("click", function () {
          delete opened[a.id];
          feedback(a.id, true);
          yes.replaceWith(el("span", { class: "who", role: "status" }, t("glad")));
        });
        li.appendChild(link);
        li.appendChild(snippet(a.snippet || ""));
        li.appendChild(yes);
        list.appendChild(li);
      });
      box.hidden = !items.length;
    }
    field.addEventListener("input", function () {
      clearTimeout(timer);
      var q = field.value.trim(), mine = ++seq;
      if (q.length < 3) { render([]); return; }
      timer = setTimeout(function () {
        fetch(base + "/api/v1/help/articles?limit=3&lang=" + lang + "&q=" + encodeURIComponent(q.slice(0, 200)))
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (d) { if (mine === seq) render(d.items || []); })
          .catch(function () { /* no suggestions: the form works as before */ });
      }, 350);
    });
    return {
      node: box,
      stillNeedHelp: function () {
        for (var id in opened) feedback(id, false);
        opened = {};
        render([]);
      },
    };
  }

  function mount() {
    document.body.appendChild(host);
    if (state.token) openChat(); // a reload or a new tab continues the same conversation
    else show(pre);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
  }
})();
