/* Inline diagrams: every <div class="diagram" data-src="SVG URL"> (api/templates/_diagram.html) becomes the SVG
   itself, zoomable and pannable with the vendored svg-pan-zoom. Its toolbar (buttons data-zoom="in|out|fit|actual")
   and keys (+ - 0 1 and the arrows, while the diagram has focus) drive it.

   First view: text readable, not a whole large drawing shrunk into the box. Graphviz writes SVG in points (node
   labels 10 pt, edge labels 8 pt); the diagram starts at its natural size (1 pt = 4/3 px) unless the whole of it fits
   at no less than READABLE of that, and the box is as tall as the drawing needs, up to most of the window. It then
   centres on data-focus (an entity ref: the node linking to its page) or shows the top left (title and legend).

   The SVG comes from our own server (Graphviz over escaped catalog text); it is parsed as XML and cleaned of scripts,
   event attributes and foreign objects before it enters the page, and the CSP runs no inline script anyway. */
(function () {
  "use strict";

  var NATURAL = 4 / 3; // px per pt
  var READABLE = 0.9; // of the natural size: 8 pt edge labels stay >= 9.6 px
  var instances = new WeakMap();

  function clean(svg) {
    svg.querySelectorAll("script, foreignObject, iframe").forEach(function (el) {
      el.remove();
    });
    svg.querySelectorAll("*").forEach(function (el) {
      Array.prototype.slice.call(el.attributes).forEach(function (a) {
        var value = a.value.replace(/\s+/g, "").toLowerCase();
        if (/^on/i.test(a.name) || value.indexOf("javascript:") === 0) {
          el.removeAttribute(a.name);
        }
      });
    });
    return svg;
  }

  function failed(box) {
    var p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = box.dataset.failed || "";
    box.replaceChildren(p);
    box.classList.add("diagram-failed");
  }

  function focusNode(svg, ref) {
    if (!ref) {
      return null;
    }
    var links = svg.querySelectorAll("g.node a");
    for (var i = 0; i < links.length; i++) {
      var href = links[i].getAttribute("href") || links[i].getAttributeNS("http://www.w3.org/1999/xlink", "href") || "";
      if (href === "/entities/" + ref || href.slice(-("/entities/" + ref).length) === "/entities/" + ref) {
        return links[i].closest("g.node");
      }
    }
    return null;
  }

  function start(box, text) {
    var doc = new DOMParser().parseFromString(text, "image/svg+xml");
    var svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== "svg" || doc.querySelector("parsererror")) {
      failed(box);
      return;
    }
    svg = document.importNode(clean(svg), true);
    var vb = (svg.getAttribute("viewBox") || "").split(/[\s,]+/).map(Number);
    var width = vb.length === 4 ? vb[2] : parseFloat(svg.getAttribute("width")) || 800;
    var height = vb.length === 4 ? vb[3] : parseFloat(svg.getAttribute("height")) || 600;
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", "100%");
    svg.setAttribute("focusable", "false");
    box.replaceChildren(svg);
    box.classList.add("diagram-ready");

    // the box: as tall as the drawing at the scale it opens with, within limits
    var boxWidth = box.clientWidth || 600;
    var fitScale = Math.min(boxWidth / width, (window.innerHeight * 0.75) / height);
    var scale = fitScale >= NATURAL * READABLE ? Math.min(fitScale, NATURAL) : NATURAL;
    var tallest = Math.max(320, Math.round(window.innerHeight * 0.75));
    box.style.height = Math.max(200, Math.min(tallest, Math.ceil(height * scale) + 16)) + "px";

    if (typeof window.svgPanZoom !== "function") {
      return; // the SVG stays, at its natural layout, without zoom
    }
    var pz = window.svgPanZoom(svg, {
      zoomEnabled: true,
      panEnabled: true,
      controlIconsEnabled: false,
      mouseWheelZoomEnabled: false, // the page scrolls; the wheel zooms once the diagram is clicked or focused
      dblClickZoomEnabled: true,
      fit: true,
      center: true,
      minZoom: 0.05,
      maxZoom: 40,
      zoomScaleSensitivity: 0.25,
    });
    instances.set(box, pz);
    var resizing = 0;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizing);
      resizing = window.setTimeout(function () {
        pz.resize(); // the box changed width (a phone turned): keep the scale, refit the viewport
      }, 150);
    });
    zoomTo(box, pz, scale);
    later(function () {
      place(box, pz, svg); // svg-pan-zoom draws on the next frame: measure once it has
      later(function () {
        box.dataset.initialScale = String(pz.getSizes().realZoom); // ready (the browser tests wait for this)
      });
    });
    box.addEventListener("focusin", function () {
      pz.enableMouseWheelZoom();
    });
    box.addEventListener("mousedown", function () {
      pz.enableMouseWheelZoom();
    });
    box.addEventListener("focusout", function () {
      pz.disableMouseWheelZoom();
    });
    box.addEventListener("keydown", function (ev) {
      keys(box, pz, ev);
    });
  }

  function later(fn) {
    window.requestAnimationFrame(function () {
      window.requestAnimationFrame(fn);
    });
  }

  function zoomTo(box, pz, real) {
    var now = pz.getSizes().realZoom;
    if (now > 0 && Math.abs(now - real) > 1e-6) {
      pz.zoomBy(real / now);
    }
  }

  function place(box, pz, svg) {
    var viewport = svg.querySelector(".svg-pan-zoom_viewport") || svg.querySelector("g");
    var b = box.getBoundingClientRect();
    var v = viewport.getBoundingClientRect();
    if (v.width <= b.width && v.height <= b.height) {
      pz.center(); // all of it in view
      return;
    }
    var node = focusNode(svg, box.dataset.focus || "");
    if (node) {
      var n = node.getBoundingClientRect();
      pz.panBy({ x: b.left + b.width / 2 - (n.left + n.width / 2), y: b.top + b.height / 2 - (n.top + n.height / 2) });
      return;
    }
    pz.panBy({ x: b.left - v.left, y: b.top - v.top }); // the top left: the title, the legend
  }

  function act(box, what) {
    var pz = instances.get(box);
    if (!pz) {
      return;
    }
    if (what === "in") {
      pz.zoomIn();
    } else if (what === "out") {
      pz.zoomOut();
    } else if (what === "fit") {
      pz.resize();
      pz.fit();
      pz.center();
    } else if (what === "actual") {
      zoomTo(box, pz, NATURAL);
      later(function () {
        place(box, pz, box.querySelector("svg"));
      });
    }
  }

  function keys(box, pz, ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) {
      return;
    }
    var step = 60;
    var moves = {
      ArrowLeft: [step, 0],
      ArrowRight: [-step, 0],
      ArrowUp: [0, step],
      ArrowDown: [0, -step],
    };
    if (ev.key === "+" || ev.key === "=") {
      act(box, "in");
    } else if (ev.key === "-" || ev.key === "_") {
      act(box, "out");
    } else if (ev.key === "0") {
      act(box, "fit");
    } else if (ev.key === "1") {
      act(box, "actual");
    } else if (moves[ev.key]) {
      pz.panBy({ x: moves[ev.key][0], y: moves[ev.key][1] });
    } else {
      return;
    }
    ev.preventDefault();
  }

  function load(box) {
    var src = box.dataset.src;
    if (!src || box.dataset.loading) {
      return;
    }
    box.dataset.loading = "1";
    fetch(src, { credentials: "same-origin", headers: { Accept: "image/svg+xml" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error(String(r.status));
        }
        return r.text();
      })
      .then(function (text) {
        start(box, text);
      })
      .catch(function () {
        failed(box);
      });
  }

  function init() {
    document.querySelectorAll("div.diagram[data-src]").forEach(load);
    document.querySelectorAll(".diagram-tools [data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var tools = button.closest(".diagram-tools");
        var box = document.getElementById(tools.getAttribute("aria-controls"));
        if (box) {
          act(box, button.dataset.zoom);
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
