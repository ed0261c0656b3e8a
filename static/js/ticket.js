// The ticket page: the composer shows which mode it is in. A note is tinted, says "Add note" and has
// no status picker, so nobody sends a public reply thinking it is a note (or the other way round).
(function () {
  "use strict";
  var reply = document.getElementById("reply");
  if (!reply) return;
  var send = reply.querySelector("button[name=send]");
  function sync() {
    var checked = reply.querySelector("input[name=internal]:checked");
    var note = checked && checked.value === "1";
    reply.classList.toggle("note-mode", note);
    if (send) send.textContent = note ? send.dataset.noteLabel : send.dataset.replyLabel;
    // A note changes no status: the picker is hidden and not submitted.
    var status = reply.querySelector("select[name=status]");
    if (status) status.disabled = note;
    var body = reply.querySelector("textarea[name=body]");
    if (body) body.placeholder = note ? "Write a note for your team… (only agents see it)" : "Write a reply… (r) · type / for a snippet";
  }
  reply.addEventListener("change", function (event) {
    if (event.target.name === "internal") sync();
  });
  sync();
})();
