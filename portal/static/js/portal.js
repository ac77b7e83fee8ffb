// Credit Office Portal: the little behaviour htmx leaves to us. No eval, no inline handlers.
(function () {
  "use strict";

  // An htmx request that failed (403, 404, 500...) is not swapped into the page; show its
  // message in the alert area instead, so the user knows what happened.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error");
    if (!box) { return; }
    var holder = document.createElement("div");
    holder.innerHTML = event.detail.xhr.responseText;  // our own error fragment, escaped by Jinja
    var title = holder.querySelector("h1");
    var text = holder.querySelector("p");
    box.textContent = (title ? title.textContent + ": " : "") + (text ? text.textContent : "");
    box.hidden = false;
  });

  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("htmx-error");
    if (box) {
      box.textContent = box.dataset.offline || "The portal cannot be reached. Check the connection.";
      box.hidden = false;
    }
  });

  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("htmx-error");
    if (box) { box.hidden = true; }
  });
})();

// Uploads: drop or pick files; each file goes up in its own request with its own progress
// bar, and the server's verdict (filed, or refused with the reason) replaces the bar.
(function () {
  "use strict";

  function csrfToken(form) {
    var field = form.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function refuse(form, row, file, message) {
    row.className = "refused";
    row.textContent = "✗ " + form.dataset.notFiled + " " + file.name + ": " + message;
  }

  function uploadOne(form, file, single, row, done) {
    if (file.size > Number(form.dataset.maxBytes)) {
      refuse(form, row, file, form.dataset.tooLarge);  // no point sending it
      done(false);
      return;
    }
    var data = new FormData();
    data.append("csrf_token", csrfToken(form));
    ["doc_type", "tags", "doc_date"].forEach(function (name) {
      var field = form.elements[name];
      if (field && field.value) { data.append(name, field.value); }
    });
    if (single && form.elements.title && form.elements.title.value) {
      data.append("title", form.elements.title.value);
    }
    data.append("files", file, file.name);
    var bar = row.querySelector("progress");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) { bar.value = Math.round(100 * event.loaded / event.total); }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status === 401 && xhr.getResponseHeader("HX-Redirect")) {
        window.location.assign(xhr.getResponseHeader("HX-Redirect"));
        return;
      }
      if (xhr.status === 413) {
        refuse(form, row, file, form.dataset.tooLarge);
      } else if (xhr.status === 400) {
        refuse(form, row, file, form.dataset.expired);
      } else {
        var holder = document.createElement("div");
        holder.innerHTML = xhr.responseText;  // our own fragment, escaped by Jinja
        var verdict = holder.querySelector("li");
        var message = holder.querySelector(".error-page p");
        if (verdict) {
          row.replaceWith(verdict);
        } else {
          refuse(form, row, file, message ? message.textContent : form.dataset.failed);
        }
      }
      done(xhr.status < 300);
    });
    xhr.addEventListener("error", function () {
      refuse(form, row, file, form.dataset.failed);
      done(false);
    });
    xhr.send(data);
  }

  function uploadAll(form, files) {
    var list = form.querySelector(".upload-progress");
    var queue = Array.prototype.slice.call(files);
    var single = queue.length === 1;
    var running = 0;
    var filed = 0;
    function next() {
      if (!queue.length) {
        if (!running && filed) { document.body.dispatchEvent(new CustomEvent("filed")); }
        return;
      }
      var file = queue.shift();
      var row = document.createElement("li");
      row.className = "uploading";
      var label = document.createElement("span");
      label.textContent = file.name;
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      row.appendChild(label);
      row.appendChild(bar);
      list.appendChild(row);
      running += 1;
      uploadOne(form, file, single, row, function (ok) {
        running -= 1;
        if (ok) { filed += 1; }
        next();
      });
    }
    next();
    next();  // two at a time
  }

  function setUp(form) {
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector(".drop-zone");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (input.files.length) { uploadAll(form, input.files); input.value = ""; }
    });
    input.addEventListener("change", function () {
      if (input.files.length) { uploadAll(form, input.files); input.value = ""; }
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        input.click();
      }
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        uploadAll(form, event.dataTransfer.files);
      }
    });
  }

  function init() {
    document.querySelectorAll("form.upload-form").forEach(setUp);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

// Header menus (<details>): Escape closes the open one and gives the focus back to its button;
// opening one closes the others. Without JavaScript they open and close by their button alone.
(function () {
  "use strict";

  function openMenus() {
    return document.querySelectorAll(".portal-header details[open]");
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menus = openMenus();
    if (!menus.length) { return; }
    var innermost = menus[menus.length - 1];
    innermost.open = false;
    var summary = innermost.querySelector("summary");
    if (summary && summary.checkVisibility && summary.checkVisibility()) { summary.focus(); }
  });

  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!opened.open || !opened.closest || !opened.closest(".portal-header")) { return; }
    openMenus().forEach(function (other) {
      if (other !== opened && !other.contains(opened) && !opened.contains(other)) {
        other.open = false;
      }
    });
  }, true);
})();
