// ioc-catalog web UI: the graph explorer (search and pickers: picker.js). Plain JavaScript; catalog text is only ever set
// with textContent (never innerHTML), so a name like <img onerror=...> stays text.
"use strict";
(function () {
  var lang = document.documentElement.lang || "vi";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
})();
