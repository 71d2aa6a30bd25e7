// ioc-catalog graph explorer (/explore): draws GET /api/v1/graph/explore with the vendored Cytoscape.js, runs the
// analyses of /api/v1/analysis on the selection, and keeps the whole state in the URL (bookmark, share, save).
// Catalog text is only ever set with textContent (never innerHTML). Every sentence comes from the page
// (#explore-config, in the page's language).
"use strict";
(function () {
  // start: the type-ahead picker (picker.js) opens the explorer on the entity picked; without it the form submits
  // the text, and the page lists what a search finds
  var startInput = document.getElementById("explore-start");
  if (startInput && window.iocPicker && window.iocPicker.attach) {
    window.iocPicker.attach(startInput, {onChange: function (ref) {
      var l = document.documentElement.lang || "vi";
      if (ref) location.href = "/explore?lang=" + l + "&start=" + encodeURIComponent(ref);
    }});
  }
  var box = document.getElementById("explorer");
  var configEl = document.getElementById("explore-config");
  if (!box || !configEl || typeof cytoscape === "undefined") return;
  var config = JSON.parse(configEl.textContent);
  var T = config.strings, lang = config.lang;
  if (typeof cytoscapeFcose !== "undefined") cytoscape.use(cytoscapeFcose);
  if (typeof cytoscapeDagre !== "undefined") cytoscape.use(cytoscapeDagre);

  var LISTS = ["start", "expand", "kind", "owner", "province", "lifecycle", "type", "fold", "open"];
  var SINGLE = ["on", "group", "layout", "q", "all", "spof"];

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in params ? String(params[k]) : m; });
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function byId(id) { return document.getElementById(id); }

  // --- state <-> URL ---------------------------------------------------------------------------------------------
  function readState() {
    var p = new URLSearchParams(location.search), s = {};
    LISTS.forEach(function (k) { s[k] = p.getAll(k).filter(Boolean); });
    SINGLE.forEach(function (k) { s[k] = p.get(k) || ""; });
    if (!s.start.length) s.start = config.start.slice();
    if (config.all) s.all = "1";
    s.layout = ["fcose", "dagre", "grid"].indexOf(s.layout) >= 0 ? s.layout : "";  // "": chosen by the graph
    return s;
  }
  function query(s, forApi) {
    var p = new URLSearchParams();
    if (!forApi) p.set("lang", lang);
    LISTS.forEach(function (k) { (s[k] || []).forEach(function (v) { p.append(k, v); }); });
    SINGLE.forEach(function (k) {
      if (!s[k]) return;
      if (forApi && (k === "layout" || k === "q" || k === "all" || k === "spof")) return;
      p.set(k, s[k]);
    });
    if (forApi) p.set("lang", lang);
    return p.toString();
  }
  var state = readState();
  function commit(push) {
    var url = location.pathname + "?" + query(state, false);
    if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
    document.querySelectorAll("input.explore-query").forEach(function (i) { i.value = query(state, false); });
  }
  window.addEventListener("popstate", function () { state = readState(); syncControls(); load(); });

  // --- the graph ---------------------------------------------------------------------------------------------------
  var canvas = byId("explore-canvas"), status = byId("explore-status"), list = byId("graph-list");
  var style = [
    {selector: "node", style: {
      "shape": "data(shape)", "background-color": "data(color)", "border-width": 1.5, "border-color": "#475569",
      "label": "data(name)", "text-wrap": "wrap", "text-max-width": "data(tw)",
      "text-valign": "center", "text-halign": "center", "font-size": 13, "color": "#0f172a",
      "width": "data(w)", "height": "data(h)", "font-family": "Noto Sans, sans-serif"}},
    {selector: "node[?expanded]", style: {"border-width": 3, "border-color": "#1e3a5f"}},
    {selector: "node[lifecycle = 'retired'], node[lifecycle = 'retiring']", style: {"border-style": "dashed", "opacity": 0.8}},
    {selector: "node.group", style: {
      "shape": "round-rectangle", "background-color": "#f1f5f9", "background-opacity": 0.6, "border-color": "#94a3b8",
      "border-style": "dashed", "label": "data(label)", "text-valign": "top", "text-halign": "center",
      "font-size": 12, "font-weight": "bold", "text-wrap": "wrap", "text-max-width": 260, "padding": 14}},
    {selector: "node.group.folded", style: {
      "background-color": "#e2e8f0", "background-opacity": 1, "border-style": "double", "border-width": 4,
      "text-valign": "center", "width": "data(w)", "height": "data(h)", "text-max-width": "data(tw)"}},
    {selector: "node:selected", style: {"overlay-color": "#2563eb", "overlay-opacity": 0.18, "overlay-padding": 6}},
    {selector: "node.spof", style: {"border-color": "#b91c1c", "border-width": 5, "border-style": "double"}},
    {selector: "node.match", style: {"underlay-color": "#facc15", "underlay-opacity": 0.7, "underlay-padding": 8}},
    {selector: "node.hit", style: {"underlay-color": "#f97316", "underlay-opacity": 0.55, "underlay-padding": 7}},
    {selector: "node.origin", style: {"underlay-color": "#dc2626", "underlay-opacity": 0.6, "underlay-padding": 9}},
    {selector: ".faded", style: {"opacity": 0.25}},
    {selector: "edge", style: {
      "curve-style": "bezier", "line-color": "data(color)", "line-style": "data(line)", "width": "data(width)",
      "target-arrow-shape": "data(arrow)", "target-arrow-color": "data(color)", "target-arrow-fill": "data(fill)",
      "arrow-scale": 1.3, "label": "data(label)", "font-size": 10, "color": "#334155", "text-rotation": "autorotate",
      "text-background-color": "#ffffff", "text-background-opacity": 0.85, "text-background-padding": 2,
      "min-zoomed-font-size": 7, "text-wrap": "wrap", "text-max-width": 160}},
    {selector: "edge.quiet", style: {"label": "", "curve-style": "straight"}},
    {selector: "edge[type = '']", style: {"opacity": 0.45}},
    {selector: "edge.quiet:selected, edge.quiet.hover", style: {"label": "data(label)"}},
    {selector: "edge.onpath", style: {"line-color": "#dc2626", "target-arrow-color": "#dc2626", "width": 4, "z-index": 10}},
    {selector: "node.onpath", style: {"border-color": "#dc2626", "border-width": 4}}
  ];
  // a large graph stays fluid: while zooming or panning the drawing moves as one picture, redrawn when it stops
  var cy = cytoscape({container: canvas, style: style, wheelSensitivity: 0.3, minZoom: 0.05, maxZoom: 4,
                      boxSelectionEnabled: false, selectionType: "additive", textureOnViewport: true,
                      pixelRatio: 1});
  var QUIET_EDGES = 150;  // past this many edges their labels show on hover or selection only
  window.iocExplorer = {cy: cy};  // for tests and the benchmark (bench/explorer.py)
  var data = null, navigator = null, spof = null, selection = [];

  // Node boxes sized to their wrapped label, so no name is ever cut.
  function size(name, folded) {
    var tw = 160, chars = Math.max(1, Math.floor(tw / 7.6));
    var words = String(name).split(/\s+/), lines = 1, cur = 0;
    words.forEach(function (w) {
      var n = w.length;
      while (n > chars) { lines += cur ? 1 : 0; n -= chars; lines += 1; cur = 0; }
      if (cur && cur + 1 + n > chars) { lines += 1; cur = n; } else { cur += (cur ? 1 : 0) + n; }
    });
    return {tw: tw, w: tw + 24, h: Math.max(40, lines * 17 + 20 + (folded ? 8 : 0))};
  }

  function elements(d) {
    var out = [];
    d.groups.forEach(function (g) {
      var sz = size(g.label, true);
      out.push({group: "nodes", classes: "group" + (g.folded ? " folded" : ""),
                data: {id: g.id, key: g.key, label: g.label, name: g.name, folded: g.folded, count: g.count,
                       isGroup: true, w: sz.w, h: sz.h, tw: sz.tw}});
    });
    d.nodes.forEach(function (n) {
      var sz = size(n.name);
      var nd = Object.assign({}, n, {w: sz.w, h: sz.h, tw: sz.tw});
      if (!n.parent) delete nd.parent;
      out.push({group: "nodes", data: nd});
    });
    d.edges.forEach(function (e) {
      out.push({group: "edges", data: Object.assign({}, e, {fill: e.hollow ? "hollow" : "filled"})});
    });
    return out;
  }

  function runLayout() {
    var n = cy.nodes().length;
    var m = cy.edges().length;
    var name = layoutName();
    var opts = name === "grid"
      ? {name: "grid", animate: false, avoidOverlap: true, avoidOverlapPadding: 16, condense: true,
         sort: function (a, b) { return (b.data("count") || 0) - (a.data("count") || 0); }}
      : name === "fcose"
      ? {name: "fcose", quality: n > 100 ? "draft" : "default", animate: false, randomize: true,
         nodeRepulsion: 9000, idealEdgeLength: 120, nodeSeparation: 90, packComponents: true}
      : {name: "dagre", rankDir: "LR", nodeSep: 18, rankSep: 110, edgeSep: 8, animate: false,
         ranker: m > 150 ? "longest-path" : "network-simplex"};  // network simplex is slow past a few hundred edges
    try { cy.layout(opts).run(); } catch (err) { cy.layout({name: "grid"}).run(); }
    cy.fit(undefined, 24);
    if (cy.zoom() < READABLE) {  // names stay readable: zoom in on where the view starts, the overview shows the rest
      var focus = cy.nodes().filter(function (n) { return n.data("expanded"); });
      cy.zoom(READABLE);
      cy.center(focus.length ? focus : undefined);
    }
  }
  var READABLE = 0.75;
  // layered (data left to right) unless chosen otherwise; folded groups: a grid, the largest first (their bundled
  // edges run every way); large graphs: force-directed (layering hundreds of edges takes seconds)
  function layoutName() {
    if (state.layout) return state.layout;
    var folded = data && data.groups.some(function (g) { return g.folded; });
    return folded ? "grid" : cy.nodes().length > 150 ? "fcose" : "dagre";
  }

  function load() {
    status.textContent = T.loading;
    canvas.setAttribute("aria-busy", "true");
    var t0 = performance.now();
    return fetch("/api/v1/graph/explore?" + query(state, true), {credentials: "same-origin"})
      .then(function (r) {
        return r.json().then(function (body) { if (!r.ok) throw body; return body; });
      })
      .then(function (d) {
        var t1 = performance.now();
        data = d;
        cy.startBatch();
        cy.elements().remove();
        cy.add(elements(d));
        if (d.edges.length > QUIET_EDGES) cy.edges().addClass("quiet");
        // large graphs: edges and labels rest while the view moves (drawn again when it stops)
        var r = cy.renderer && cy.renderer();
        if (r) r.hideEdgesOnViewport = r.hideLabelsOnViewport = d.edges.length > QUIET_EDGES;
        cy.edges('[type = ""]').addClass("quiet");  // folded groups' bundles: the count on hover
        cy.endBatch();
        var t2 = performance.now();
        runLayout();
        var t3 = performance.now();
        applyMarks();  // draws the list view too
        var t4 = performance.now();
        fillFacets(d.facets);
        var t5 = performance.now();
        setTimeout(navigatorFor, 0);  // the overview follows the drawing
        var msg = fill(T.shown, {nodes: d.nodes.length + d.groups.filter(function (g) { return g.folded; }).length,
                                 edges: d.edges.length});
        if (d.folded_automatically) msg += " " + T.folded_auto;
        if (d.truncated) msg += " " + T.truncated;
        status.textContent = msg;
        canvas.setAttribute("aria-busy", "false");
        window.iocExplorer.rendered = {ms: performance.now() - t0, at: performance.now(), fetch_ms: t1 - t0, layout_ms: t3 - t2,
                                       add_ms: t2 - t1, list_ms: t4 - t3, facets_ms: t5 - t4,
                                       nodes: cy.nodes().length, edges: cy.edges().length};
        box.dataset.ready = "1";
        restoreSelection();
      })
      .catch(function (err) {
        status.textContent = T.failed + (err && err.detail ? " " + err.detail : "");
        canvas.setAttribute("aria-busy", "false");
        box.dataset.ready = "1";
      });
  }

  function navigatorFor() {
    var large = cy.nodes().length > 15;
    var nav = byId("explore-navigator");
    nav.hidden = !large;
    if (large && !navigator && cy.navigator) {
      navigator = cy.navigator({container: "#explore-navigator", viewLiveFramerate: 0, removeCustomContainer: false});
    }
  }

  // --- tooltip: the full name, kind, owner, lifecycle and why a node is marked -------------------------------------
  function describeNode(n) {
    var d = n.data();
    if (d.isGroup) return d.label;
    var parts = [d.name, d.kind_label];
    if (d.owner_name) parts.push(d.owner_name);
    if (d.lifecycle_label) parts.push(d.lifecycle_label);
    if (d.spofReason) parts.push(T.spof_mark + ": " + d.spofReason);
    return parts.join(" · ");
  }
  cy.on("mouseover", "node", function (ev) { canvas.title = describeNode(ev.target); });
  cy.on("mouseover", "edge", function (ev) { canvas.title = ev.target.data("label"); ev.target.addClass("hover"); });
  cy.on("mouseout", "edge", function (ev) { ev.target.removeClass("hover"); });
  cy.on("mouseout", "node, edge", function () { canvas.title = ""; });

  // --- selection, expand/collapse, groups ----------------------------------------------------------------------------
  cy.on("tap", "node", function (ev) {
    var n = ev.target;
    if (n.data("isGroup")) {
      if (n.data("folded")) openGroup(n.data("key"));
      else selectGroup(n);
      return;
    }
    var additive = ev.originalEvent && (ev.originalEvent.shiftKey || ev.originalEvent.ctrlKey || ev.originalEvent.metaKey);
    select(n.id(), additive);
  });
  cy.on("dbltap", "node", function (ev) {
    if (!ev.target.data("isGroup")) toggleExpand(ev.target.id());
  });
  cy.on("tap", function (ev) { if (ev.target === cy) select(null); });

  function select(ref, additive) {
    if (!ref) selection = [];
    else if (additive) {
      selection = selection.filter(function (r) { return r !== ref; }).concat([ref]).slice(-2);
    } else selection = [ref];
    cy.nodes().unselect();
    selection.forEach(function (r) { var n = cy.getElementById(r); if (n.length) n.select(); });
    showSelection();
  }
  function restoreSelection() {
    selection = selection.filter(function (r) { return cy.getElementById(r).length; });
    selection.forEach(function (r) { cy.getElementById(r).select(); });
    showSelection();
  }
  function nodeData(ref) {
    var n = cy.getElementById(ref);
    return n.length ? n.data() : null;
  }
  function showSelection() {
    var out = byId("explore-selected"), actions = byId("explore-actions");
    out.replaceChildren();
    if (!selection.length) { out.textContent = T.select_hint; actions.hidden = true; return; }
    actions.hidden = false;
    var first = nodeData(selection[selection.length - 1]);
    if (selection.length === 2) {
      var a = nodeData(selection[0]), b = nodeData(selection[1]);
      out.textContent = fill(T.selected_two, {a: a ? a.name : selection[0], b: b ? b.name : selection[1]});
    } else if (first) {
      out.append(el("a", {href: first.url + "?lang=" + lang}, first.name), " ",
                 el("span", {"class": "muted"}, [first.kind_label, first.owner_name].filter(Boolean).join(" · ")));
    }
    byId("explore-paths").hidden = selection.length !== 2;
    var ref = selection[selection.length - 1];
    byId("explore-users").hidden = !(first && first.kind === "database");
    byId("explore-expand").textContent = isExpanded(ref) ? T.collapse : T.expand;
  }
  function selectGroup(n) {
    var out = byId("explore-selected"), actions = byId("explore-actions");
    actions.hidden = true;
    out.replaceChildren(el("strong", null, n.data("label")), " ");
    var b = el("button", {type: "button", "class": "secondary"}, T.fold_group);
    b.addEventListener("click", function () { foldGroup(n.data("key")); });
    out.append(b);
  }
  function isExpanded(ref) {
    return state.start.indexOf(ref) >= 0 || state.expand.indexOf(ref) >= 0;
  }
  function toggleExpand(ref) {
    if (state.start.indexOf(ref) >= 0) return;  // where the view starts stays expanded
    var i = state.expand.indexOf(ref);
    if (i >= 0) state.expand.splice(i, 1); else state.expand.push(ref);
    commit(true);
    return load();
  }
  function openGroup(key) {
    if (data && data.folded_automatically) {
      state.group = "org";
      if (state.fold.indexOf("*") < 0) state.fold.push("*");
    }
    state.fold = state.fold.filter(function (k) { return k !== key; });
    if (state.fold.indexOf("*") >= 0 && state.open.indexOf(key) < 0) state.open.push(key);
    commit(true);
    load();
  }
  function foldGroup(key) {
    if (!state.group && data) state.group = data.group;
    state.open = state.open.filter(function (k) { return k !== key; });
    if (state.fold.indexOf("*") < 0 && state.fold.indexOf(key) < 0) state.fold.push(key);
    commit(true);
    load();
  }
  byId("explore-expand").addEventListener("click", function () {
    if (selection.length) toggleExpand(selection[selection.length - 1]);
  });

  // --- the list view: the same graph, keyboard and screen-reader friendly ------------------------------------------
  function drawList() {
    var items = [];
    var names = {};
    data.nodes.forEach(function (n) { names[n.id] = n.name; });
    data.groups.forEach(function (g) { names[g.id] = g.name; });
    var out = {};
    data.edges.forEach(function (e) { (out[e.source] = out[e.source] || []).push(e); });
    data.groups.filter(function (g) { return g.folded; }).forEach(function (g) {
      var li = el("li", {"class": "group", "data-ref": g.id});
      li.append(el("strong", null, g.label), " ");
      var b = el("button", {type: "button", "class": "secondary"}, T.open_group);
      b.addEventListener("click", function () { openGroup(g.key); });
      li.append(b);
      items.push(li);
    });
    data.nodes.forEach(function (n) {
      var li = el("li", {"data-ref": n.id});
      li.append(el("a", {href: n.url + "?lang=" + lang}, n.name), " ",
                el("span", {"class": "muted"}, [n.kind_label, n.owner_name, n.lifecycle_label].filter(Boolean).join(" · ")), " ");
      var sel = el("button", {type: "button", "class": "secondary select", "aria-pressed": String(selection.indexOf(n.id) >= 0)}, T.select);
      sel.addEventListener("click", function (ev) { select(n.id, ev.shiftKey || ev.ctrlKey || ev.metaKey); });
      li.append(sel, " ");
      if (state.start.indexOf(n.id) < 0) {
        var b = el("button", {type: "button", "class": "secondary expand", "data-ref": n.id}, n.expanded ? T.collapse : T.expand);
        b.addEventListener("click", function () {
          var keep = n.id;
          toggleExpand(keep).then(function () {
            var again = list.querySelector('li[data-ref="' + CSS.escape(keep) + '"] button.expand');
            if (again) again.focus();
          });
        });
        li.append(b);
      }
      if (n.spofReason) li.append(" ", el("span", {"class": "badge spof"}, T.spof_mark + ": " + n.spofReason));
      var rels = out[n.id] || [];
      if (rels.length) {
        var ul = el("ul", {"class": "rels", "aria-label": T.relationships});
        rels.forEach(function (e) {
          ul.append(el("li", null, "→ " + e.label + " → " + (names[e.target] || e.target)));
        });
        li.append(ul);
      }
      items.push(li);
    });
    list.replaceChildren.apply(list, items);
  }

  // --- filters and controls ------------------------------------------------------------------------------------------
  var filters = byId("explore-filters");
  function syncControls() {
    byId("explore-layout").value = layoutName();
    byId("explore-group").value = state.group;
    byId("explore-spof").checked = state.spof === "1";
    byId("explore-q").value = state.q;
    byId("explore-on").value = state.on;
    ["kind", "lifecycle", "type"].forEach(function (k) {
      filters.querySelectorAll('input[name="' + k + '"]').forEach(function (i) { i.checked = state[k].indexOf(i.value) >= 0; });
    });
    var n = ["kind", "lifecycle", "type", "owner", "province"].reduce(function (a, k) { return a + state[k].length; }, 0) + (state.on ? 1 : 0);
    byId("explore-filter-count").textContent = n ? fill(T.filters_on, {count: n}) : "";
    if (n && !filters.open && !filters.dataset.touched) filters.open = false;
  }
  function fillFacets(f) {
    [["explore-owner", "owner", f.owners], ["explore-province", "province", f.provinces]].forEach(function (x) {
      var select = byId(x[0]), first = select.options[0];
      var opts = [first];
      x[2].forEach(function (o) {
        var opt = el("option", {value: o.value}, o.label);
        if (state[x[1]].indexOf(o.value) >= 0) opt.selected = true;
        opts.push(opt);
      });
      select.replaceChildren.apply(select, opts);
    });
    syncControls();
  }
  filters.addEventListener("change", function (ev) {
    var t = ev.target, k = t.name;
    filters.dataset.touched = "1";
    if (k === "kind" || k === "lifecycle" || k === "type") {
      state[k] = Array.prototype.map.call(filters.querySelectorAll('input[name="' + k + '"]:checked'), function (i) { return i.value; });
    } else if (k === "owner" || k === "province") {
      state[k] = t.value ? [t.value] : [];
    } else if (k === "on") {
      state.on = t.value || "";
    } else return;
    commit(true);
    load();
  });
  byId("explore-clear").addEventListener("click", function () {
    ["kind", "lifecycle", "type", "owner", "province"].forEach(function (k) { state[k] = []; });
    state.on = "";
    commit(true);
    load();
  });
  byId("explore-layout").addEventListener("change", function (ev) {
    state.layout = ev.target.value; commit(false); runLayout();
  });
  byId("explore-group").addEventListener("change", function (ev) {
    state.group = ev.target.value; state.fold = []; state.open = []; commit(true); load();
  });
  byId("explore-fit").addEventListener("click", function () { cy.fit(undefined, 24); });
  byId("explore-zoom-in").addEventListener("click", function () { zoomBy(1.25); });
  byId("explore-zoom-out").addEventListener("click", function () { zoomBy(0.8); });
  function zoomBy(f) {
    cy.zoom({level: cy.zoom() * f, renderedPosition: {x: canvas.clientWidth / 2, y: canvas.clientHeight / 2}});
  }
  var qTimer = null;
  byId("explore-q").addEventListener("input", function (ev) {
    clearTimeout(qTimer);
    qTimer = setTimeout(function () { state.q = ev.target.value.trim(); commit(false); applyMarks(); }, 150);
  });
  byId("explore-spof").addEventListener("change", function (ev) {
    state.spof = ev.target.checked ? "1" : ""; commit(true);
    if (state.spof && !spof) loadSpof(); else { applyMarks(); showSpof(); }
  });

  // highlight (text filter) and single points of failure
  function fold(s) { return String(s).normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase(); }
  function applyMarks() {
    var q = fold(state.q || ""), count = 0;
    cy.nodes().removeClass("match faded spof");
    cy.edges().removeClass("faded");
    if (q) {
      cy.nodes().forEach(function (n) {
        if (n.data("isGroup")) return;
        if (fold(n.data("name")).indexOf(q) >= 0 || fold(n.id()).indexOf(q) >= 0) { n.addClass("match"); count++; }
      });
      cy.nodes().not(".match").not(".group").addClass("faded");
    }
    byId("explore-q").setAttribute("aria-description", q ? fill(T.matches, {count: count}) : "");
    if (data) data.nodes.forEach(function (n) { delete n.spofReason; });
    cy.nodes().forEach(function (n) { n.removeData("spofReason"); });
    if (state.spof === "1" && spof) {
      spof.items.forEach(function (it) {
        var reason = reasons(it);
        var n = cy.getElementById(it.ref);
        if (n.length) { n.addClass("spof"); n.data("spofReason", reason); }
        if (data) data.nodes.forEach(function (x) { if (x.id === it.ref) x.spofReason = reason; });
      });
    }
    if (data) drawList();
  }
  function reasons(it) {
    return it.reasons.map(function (r) {
      return r === "high_betweenness" && it.rank ? fill(T.high_betweenness, {rank: it.rank}) : T[r] || r;
    }).join("; ");
  }
  function loadSpof() {
    status.textContent = T.loading;
    return getJson("/api/v1/analysis/spof").then(function (body) {
      spof = body; applyMarks(); showSpof(); status.textContent = "";
      updateStatus();
    });
  }
  function updateStatus() {
    if (!data) return;
    var msg = fill(T.shown, {nodes: data.nodes.length + data.groups.filter(function (g) { return g.folded; }).length, edges: data.edges.length});
    if (data.folded_automatically) msg += " " + T.folded_auto;
    status.textContent = msg;
  }

  // --- analyses -----------------------------------------------------------------------------------------------------
  var results = byId("explore-results");
  function getJson(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept-Language": lang}}).then(function (r) {
      return r.json().then(function (body) { if (!r.ok) throw body; return body; });
    }).catch(function (err) {
      results.replaceChildren(el("p", {"class": "error"}, T.failed + (err && err.detail ? " " + err.detail : "")));
      throw err;
    });
  }
  function label(l) { return l ? (lang === "en" ? l.en : l.vi) : ""; }
  function exports(base) {
    var p = el("p", {"class": "exports"}, T.export + " ");
    ["xlsx", "csv"].forEach(function (f, i) {
      if (i) p.append(" · ");
      p.append(el("a", {href: base + (base.indexOf("?") >= 0 ? "&" : "?") + "format=" + f + "&lang=" + lang, download: ""}, f.toUpperCase()));
    });
    return p;
  }
  function table(head, rows) {
    var t = el("table", {"class": "results"}), thead = el("thead"), tr = el("tr");
    head.forEach(function (h) { tr.append(el("th", {scope: "col"}, h)); });
    thead.append(tr);
    var tb = el("tbody");
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c) { var td = el("td"); if (c instanceof Node) td.append(c); else td.textContent = c; row.append(td); });
      tb.append(row);
    });
    t.append(thead, tb);
    var wrap = el("div", {"class": "table-wrap"});
    wrap.append(t);
    return wrap;
  }
  function link(ref, name) {
    var a = el("a", {href: "/entities/" + ref + "?lang=" + lang}, name);
    a.title = ref;
    return a;
  }
  function clearHits() { cy.elements().removeClass("hit origin onpath faded"); applyMarks(); }
  function markHits(origin, refs) {
    clearHits();
    var o = cy.getElementById(origin);
    if (o.length) o.addClass("origin");
    refs.forEach(function (r) { var n = cy.getElementById(r); if (n.length) n.addClass("hit"); });
  }
  function runImpact(kind) {
    var ref = selection[selection.length - 1];
    if (!ref) return;
    var url = "/api/v1/analysis/impact?ref=" + encodeURIComponent(ref) + "&limit=500" + (kind === "depends" ? "&direction=dependencies" : "");
    getJson(url).then(function (body) {
      var names = {};
      body.entities.forEach(function (e) { names[e.ref] = label(e.name); });
      var title = fill(kind === "depends" ? T.depends_title : T.impact_title, {name: label(body.entity.name), count: body.total});
      var rows = body.items.map(function (it) {
        return [link(it.ref, label(it.name)), [label(it.kind_label), label(it.owner_name)].filter(Boolean).join(" · "), String(it.depth),
                it.path.map(function (r) { return names[r] || r; }).join(" → ")];
      });
      results.replaceChildren(el("h2", {id: "explore-result-title"}, title));
      results.dataset.analysis = kind;
      if (!rows.length) results.append(el("p", {"class": "muted"}, T.nothing));
      else results.append(table([T.col_name, T.col_owner, T.col_hops, T.col_path], rows), exports(url.replace("&limit=500", "&limit=5000")));
      markHits(ref, body.items.map(function (it) { return it.ref; }));
    });
  }
  byId("explore-impact").addEventListener("click", function () { runImpact("impact"); });
  byId("explore-depends").addEventListener("click", function () { runImpact("depends"); });
  byId("explore-users").addEventListener("click", function () {
    var ref = selection[selection.length - 1];
    var url = "/api/v1/graph/database-users?ref=" + encodeURIComponent(ref) + "&lang=" + lang + (state.on ? "&on=" + state.on : "");
    getJson(url).then(function (body) {
      results.replaceChildren(el("h2", {id: "explore-result-title"}, fill(T.users_title, {name: body.name, count: body.users.length, orgs: body.organisations})));
      results.dataset.analysis = "users";
      var rows = body.users.map(function (u) {
        return [link(u.ref, u.name), u.owner_name, u.how + (u.through ? " (" + fill(T.through, {name: u.through_name}) + ")" : "")];
      });
      if (!rows.length) results.append(el("p", {"class": "muted"}, T.nothing));
      else results.append(table([T.col_name, T.col_owner, T.col_how], rows), exports(url));
      markHits(ref, body.users.map(function (u) { return u.ref; }));
    });
  });
  byId("explore-paths").addEventListener("click", function () {
    if (selection.length !== 2) return;
    var a = selection[0], b = selection[1];
    var url = "/api/v1/analysis/paths?from=" + encodeURIComponent(a) + "&to=" + encodeURIComponent(b) + "&max_length=4&limit=20";
    getJson(url).then(function (body) {
      var names = {};
      body.entities.forEach(function (e) { names[e.ref] = label(e.name); });
      results.replaceChildren(el("h2", {id: "explore-result-title"}, fill(T.paths_title, {a: label(body.from.name), b: label(body.to.name), count: body.count})));
      results.dataset.analysis = "paths";
      var ol = el("ol", {"class": "paths"});
      body.paths.forEach(function (p) {
        var li = el("li");
        p.steps.forEach(function (st, i) {
          if (i === 0) li.append(link(st.from, names[st.from] || st.from));
          var rel = st.relationships.map(function (x) { return (x.direction === "forward" ? "→ " : "← ") + label(x.label) + (x.direction === "forward" ? " →" : " ←"); }).join(" / ");
          li.append(el("span", {"class": "muted"}, " " + rel + " "), link(st.to, names[st.to] || st.to));
        });
        ol.append(li);
      });
      if (!body.paths.length) results.append(el("p", {"class": "muted"}, T.nothing));
      else results.append(ol);
      if (body.truncated) results.append(el("p", {"class": "muted"}, T.more_paths));
      results.append(exports(url));
      clearHits();
      var onPath = {};
      body.paths.forEach(function (p) { p.refs.forEach(function (r) { onPath[r] = true; }); });
      var pairs = {};
      body.paths.forEach(function (p) {
        for (var i = 0; i + 1 < p.refs.length; i++) { pairs[p.refs[i] + "|" + p.refs[i + 1]] = pairs[p.refs[i + 1] + "|" + p.refs[i]] = true; }
      });
      cy.nodes().forEach(function (n) { if (onPath[n.id()]) n.addClass("onpath"); else if (!n.data("isGroup")) n.addClass("faded"); });
      cy.edges().forEach(function (e) { if (pairs[e.source().id() + "|" + e.target().id()]) e.addClass("onpath"); else e.addClass("faded"); });
      if (cy.elements(".onpath").length) cy.fit(cy.elements(".onpath"), 30);
      var missing = Object.keys(onPath).filter(function (r) { return !cy.getElementById(r).length; });
      if (missing.length) {
        var add = el("button", {type: "button", "class": "secondary", id: "explore-paths-show"}, T.show_on_graph);
        add.addEventListener("click", function () {
          missing.forEach(function (r) { if (state.expand.indexOf(r) < 0) state.expand.push(r); });
          commit(true);
          load().then(function () { byId("explore-paths").click(); });
        });
        results.append(el("p", {"class": "muted"}, T.not_shown + " "), add);
      }
    });
  });
  function showSpof() {
    if (state.spof !== "1" || !spof) {
      if (results.dataset.analysis === "spof") { results.replaceChildren(); results.dataset.analysis = ""; }
      return;
    }
    results.replaceChildren(el("h2", {id: "explore-result-title"}, fill(T.spof_title, {count: spof.count})));
    results.dataset.analysis = "spof";
    var rows = spof.items.map(function (it) {
      return [link(it.ref, label(it.name)), [label(it.kind_label), label(it.owner_name)].filter(Boolean).join(" · "), reasons(it)];
    });
    results.append(table([T.col_name, T.col_owner, T.col_reasons], rows), exports("/api/v1/analysis/spof"));
  }

  // add an entity to the graph (expanded), by name with the picker or by its reference
  var addInput = byId("explore-add");
  function addRef(ref) {
    ref = (ref || "").trim();
    if (!ref || state.expand.indexOf(ref) >= 0 || state.start.indexOf(ref) >= 0) return;
    state.expand.push(ref);
    commit(true);
    load().then(function () { select(ref); });
  }
  if (window.iocPicker && window.iocPicker.attach && window.iocPicker.attach(addInput, {onChange: function (ref) {
    if (ref) { addRef(ref); var ts = addInput.tomselect; if (ts) ts.clear(true); }
  }})) { /* the type-ahead handles it */ } else {
    addInput.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); addRef(addInput.value); addInput.value = ""; }
    });
  }
  document.querySelectorAll(".swatch[data-color]").forEach(function (s) { s.style.background = s.dataset.color; });
  syncControls();
  commit(false);
  load().then(function () { if (state.spof === "1") loadSpof(); });
})();
