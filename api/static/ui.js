// ioc-catalog web UI: the page's own behaviour shared by every page (search and pickers: picker.js; the explorer:
// explorer.js). Plain JavaScript; catalog text is only ever set with textContent (never innerHTML).
"use strict";
(function () {
  document.documentElement.classList.add("js");

  // The menu button of narrow screens: shows and hides the menu (nav#menu) and, with it, the header's language
  // links and sign-out. Escape closes it and gives the focus back to the button. Without JavaScript the header's
  // "#menu" link opens the same menu (CSS :target).
  function menu() {
    var button = document.querySelector("header .menu-button");
    var nav = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!nav) return;
    var header = button.closest("header");
    button.hidden = false;

    function set(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
      header.classList.toggle("open", open);
    }

    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      set(open);
      if (open) {
        var first = nav.querySelector("a");
        if (first) first.focus();
      }
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        set(false);
        button.focus();
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", menu);
  else menu();
})();
