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

  // --- graph explorer: click a node to add its neighbours (store.neighbourhood via /graph.json) ----------------
  var box = document.getElementById("graph");
  if (box) {
    var svg = document.getElementById("graph-svg"), list = document.getElementById("graph-list");
    var status = document.getElementById("graph-status");
    var NS = "http://www.w3.org/2000/svg";
    var nodes = {}, order = [], edges = {}, expanded = {}, refocus = null;
    function add(n, level) {
      if (!nodes[n.ref]) { n.level = level; nodes[n.ref] = n; order.push(n.ref); }
    }
    function expand(ref) {
      if (expanded[ref]) return;
      expanded[ref] = true;
      status.textContent = box.dataset.loading;
      fetch("/graph.json?lang=" + lang + "&ref=" + encodeURIComponent(ref), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (g) {
          var base = nodes[ref] ? nodes[ref].level : 0;
          g.nodes.forEach(function (n) { add(n, n.ref === ref ? base : base + 1); });
          g.edges.forEach(function (e) { edges[e.source + ">" + e.type + ">" + e.target] = e; });
          draw();
          status.textContent = box.dataset.shown.replace("{n}", order.length).replace("{e}", Object.keys(edges).length)
            + (g.truncated ? " " + box.dataset.truncated : "");
        });
    }
    function draw() {
      var cols = {}, pos = {};
      order.forEach(function (ref) {
        var l = nodes[ref].level; cols[l] = cols[l] || []; cols[l].push(ref);
      });
      var maxRows = 1;
      Object.keys(cols).forEach(function (l) {
        cols[l].forEach(function (ref, i) { pos[ref] = {x: 10 + l * 250, y: 10 + i * 30}; });
        maxRows = Math.max(maxRows, cols[l].length);
      });
      svg.setAttribute("viewBox", "0 0 " + (Object.keys(cols).length * 250 + 20) + " " + (maxRows * 30 + 20));
      svg.replaceChildren();
      Object.keys(edges).forEach(function (k) {
        var e = edges[k], a = pos[e.source], b = pos[e.target];
        if (!a || !b) return;
        var line = document.createElementNS(NS, "line");
        line.setAttribute("x1", a.x + 220); line.setAttribute("y1", a.y + 11);
        line.setAttribute("x2", b.x); line.setAttribute("y2", b.y + 11);
        var t = document.createElementNS(NS, "title"); t.textContent = e.label; line.appendChild(t);
        svg.appendChild(line);
      });
      list.replaceChildren();
      order.forEach(function (ref) {
        var n = nodes[ref], p = pos[ref];
        var g = document.createElementNS(NS, "g");
        g.setAttribute("class", "node" + (ref === box.dataset.ref ? " center" : "") + (expanded[ref] ? " expanded" : ""));
        g.setAttribute("data-ref", ref);
        g.setAttribute("transform", "translate(" + p.x + "," + p.y + ")");
        var r = document.createElementNS(NS, "rect");
        r.setAttribute("width", 220); r.setAttribute("height", 22); r.setAttribute("rx", 4);
        var t = document.createElementNS(NS, "text");
        t.setAttribute("x", 6); t.setAttribute("y", 15);
        t.textContent = n.name.length > 34 ? n.name.slice(0, 33) + "…" : n.name;
        var title = document.createElementNS(NS, "title"); title.textContent = n.name + " (" + n.kind_label + ")";
        g.append(title, r, t);
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "button");
        g.setAttribute("aria-label", n.name);
        g.addEventListener("click", function () { expand(ref); });
        g.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); refocus = ref; expand(ref); }
        });
        svg.appendChild(g);
        // the same graph as a list: keyboard and screen-reader friendly
        var li = el("li");
        li.append(el("a", {href: n.url + "?lang=" + lang}, n.name), " ",
                  el("span", {"class": "muted"}, n.kind_label), " ", el("small", {"class": "ref"}, ref), " ");
        if (!expanded[ref]) {
          var b = el("button", {type: "button", "class": "secondary expand", "data-ref": ref}, box.dataset.expand);
          b.addEventListener("click", function () { expand(ref); });
          li.append(b);
        }
        list.appendChild(li);
      });
      if (refocus) {  // a redraw replaces the nodes: keep the keyboard user's place
        var again = svg.querySelector('g.node[data-ref="' + CSS.escape(refocus) + '"]');
        if (again) again.focus();
        refocus = null;
      }
    }
    expand(box.dataset.ref);
  }
})();
