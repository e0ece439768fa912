// Sejf web UI: small progressive enhancements only; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Pipeline board: drag a deal card onto another stage column to move it. The drop submits
  // the same form (with its CSRF token) as the card's "move" buttons.
  document.querySelectorAll("[data-deal]").forEach(function (card) {
    card.setAttribute("draggable", "true");
    card.addEventListener("dragstart", function (e) {
      e.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
    });
  });
  document.querySelectorAll("[data-stage]").forEach(function (col) {
    col.addEventListener("dragover", function (e) { e.preventDefault(); col.classList.add("over"); });
    col.addEventListener("dragleave", function () { col.classList.remove("over"); });
    col.addEventListener("drop", function (e) {
      e.preventDefault();
      col.classList.remove("over");
      var id = e.dataTransfer.getData("text/plain");
      var form = document.querySelector("form[data-move='" + id + "'][data-to='" + col.getAttribute("data-stage") + "']");
      if (form) { form.submit(); }
    });
  });
});
