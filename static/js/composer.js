/* The ticket reply's files: pick them, drop them on the reply box, or paste an image (a
 * screenshot, a label). Every way ends in the form's own <input type=file name=files>, so the
 * form posts them with the reply (multipart) and works the same without this script. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-composer]");
  if (!form) return;
  var input = form.querySelector("[data-file-input]");
  var list = form.querySelector("[data-picked]");
  if (!input || !list || typeof DataTransfer === "undefined") return;

  function files() { return Array.prototype.slice.call(input.files || []); }

  function setFiles(items) {
    var transfer = new DataTransfer();
    items.forEach(function (file) { transfer.items.add(file); });
    input.files = transfer.files;
    render();
  }

  function add(newFiles) {
    var items = files();
    Array.prototype.forEach.call(newFiles, function (file, i) {
      if (!file.name || file.name === "image.png") {
        // A pasted screenshot has no useful name; give it one the agent can recognise.
        var ext = (file.type.split("/")[1] || "bin").replace(/[^a-z0-9]/g, "");
        file = new File([file], "pasted-" + Date.now() + "-" + i + "." + ext, { type: file.type });
      }
      items.push(file);
    });
    setFiles(items);
  }

  function size(n) {
    return n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(0) + " KB" : (n / 1048576).toFixed(1) + " MB";
  }

  function render() {
    list.textContent = "";
    files().forEach(function (file, index) {
      var li = document.createElement("li");
      if (/^image\/(png|jpeg|gif|webp)$/.test(file.type)) {
        var img = document.createElement("img");
        img.className = "thumb";
        img.alt = "";
        img.src = URL.createObjectURL(file);
        li.appendChild(img);
      }
      li.appendChild(document.createTextNode(" " + file.name + " (" + size(file.size) + ") "));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove " + file.name);
      remove.addEventListener("click", function () {
        setFiles(files().filter(function (_, i) { return i !== index; }));
      });
      li.appendChild(remove);
      list.appendChild(li);
    });
  }

  input.addEventListener("change", render);
  ["dragenter", "dragover"].forEach(function (name) {
    form.addEventListener(name, function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
        form.classList.add("dropping");
      }
    });
  });
  form.addEventListener("dragleave", function () { form.classList.remove("dropping"); });
  form.addEventListener("drop", function (event) {
    form.classList.remove("dropping");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      event.preventDefault();
      add(event.dataTransfer.files);
    }
  });
  form.addEventListener("paste", function (event) {
    var data = event.clipboardData;
    if (!data || !data.files || !data.files.length) return; // plain text pastes as usual
    event.preventDefault();
    add(data.files);
  });
})();
