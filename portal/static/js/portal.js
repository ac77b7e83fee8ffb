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
