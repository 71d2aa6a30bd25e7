// ioc-catalog: finding entities by name. Every <input data-picker="entity" name="X"> (optional
// data-kinds="system,database", data-initial='{"ref":..., "name":...}' for the entity already chosen) becomes a
// type-ahead (Tom Select, vendored) over /search.json: each option shows the name, then kind, owner, province or
// city and lifecycle, so two entities of the same name are told apart; the submitted value is the reference.
// <input data-picker="search"> (the search page) lists the same hits below itself while typing, as links.
// Without JavaScript both stay plain inputs: a reference or a name can be typed and submitted.
// Other scripts: window.iocPicker.attach(input, {kinds: "system", onChange: function (ref) {...}}).
// Catalog text is only ever set with textContent, never as HTML.
"use strict";
(function () {
  var lang = document.documentElement.lang || "vi";
  var texts = {};
  try {
    texts = JSON.parse(document.getElementById("picker-texts").textContent);
  } catch (e) { texts = {}; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function searchUrl(q, kinds, limit) {
    return "/search.json?lang=" + encodeURIComponent(lang) + "&q=" + encodeURIComponent(q) +
      (kinds ? "&kind=" + encodeURIComponent(kinds) : "") + (limit ? "&limit=" + limit : "");
  }

  // the line under a name: kind · owner · province or city (formerly ...) · lifecycle → successor
  function meta(it) {
    var parts = [it.kind_label];
    if (it.owner_name) parts.push(it.owner_name);
    var place = it.province_name || ((it.owner || it.kind === "organization") ? texts.national : "");
    if (it.former_province_name && texts.formerly) {
      place = (place ? place + " " : "") + "(" + texts.formerly.replace("{place}", it.former_province_name) + ")";
    }
    if (place) parts.push(place);
    if (it.lifecycle_label) parts.push(it.lifecycle_label);
    var line = parts.filter(Boolean).join(" · ");
    if (it.successor_name) line += " → " + it.successor_name;
    return line;
  }

  function describe(it, cls) {
    var d = el("div", cls + (it.current === false ? " pk-ended" : ""));
    d.append(el("span", "pk-name", it.name), el("span", "pk-meta", meta(it)));
    d.title = it.name + " — " + meta(it);
    return d;
  }

  function attach(input, opts) {
    opts = opts || {};
    if (input.tomselect) {  // attached already (every data-picker input is, on load): add the listener
      if (opts.onChange) input.tomselect.on("change", function (value) { opts.onChange(value || ""); });
      return input.tomselect;
    }
    if (typeof window.TomSelect === "undefined") return null;  // the library did not load: a plain input
    var kinds = opts.kinds || input.dataset.kinds || "";
    var initial = null;
    try { initial = input.dataset.initial ? JSON.parse(input.dataset.initial) : null; } catch (e) { initial = null; }
    var typed = initial ? "" : input.value.trim();
    var ref = /^[a-z_]+:[a-z0-9][a-z0-9._-]*$/.test(typed) ? typed : "";
    if (ref) {  // a reference without its description: kept as chosen, described once the server answers
      initial = {ref: ref, name: ref, rank: 0};
      typed = "";
    } else {
      input.value = "";  // text that named nothing yet: searched for again below
    }
    var ts = new window.TomSelect(input, {
      valueField: "ref",
      labelField: "name",
      searchField: ["name"],
      maxItems: 1,
      create: false,
      persist: false,
      options: initial ? [initial] : [],
      items: initial ? [initial.ref] : [],
      placeholder: input.getAttribute("placeholder") || texts.placeholder || "",
      loadThrottle: 180,
      maxOptions: 50,
      highlight: false,  // matches are diacritics-insensitive: marking letters would mislead
      closeAfterSelect: true,
      // the server ranks (catalog.search): show its hits in its order, none filtered out on this side
      score: function () { return function () { return 1; }; },
      sortField: [{field: "rank"}],
      shouldLoad: function (q) { return q.trim().length > 0; },
      load: function (query, callback) {
        var self = this;
        // the kinds asked for now (a connection row's type may have changed them since)
        fetch(searchUrl(query, opts.kinds || input.dataset.kinds || kinds, 15), {credentials: "same-origin", headers: {Accept: "application/json"}})
          .then(function (r) { return r.ok ? r.json() : {items: []}; })
          .then(function (body) {
            self.clearOptions();  // keeps the chosen one
            body.items.forEach(function (it, i) { it.rank = i; });
            callback(body.items);
          })
          .catch(function () { callback(); });
      },
      render: {
        option: function (it) { return describe(it, "pk-opt"); },
        item: function (it) { return describe(it, "pk-item"); },
        no_results: function () { return el("div", "no-results", texts.none || "—"); },
        loading: function () { return el("div", "pk-loading", texts.loading || "…"); }
      },
      onChange: function (value) {
        if (opts.onChange) opts.onChange(value || "");
      }
    });
    ts.wrapper.classList.add("pk");
    if (ref) {
      fetch(searchUrl(ref, kinds, 1), {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {items: []}; })
        .then(function (body) {
          var hit = body.items.filter(function (it) { return it.ref === ref; })[0];
          if (hit && ts.getValue() === ref) { hit.rank = 0; ts.updateOption(ref, hit); }
        })
        .catch(function () { /* the reference stays, shown as it is */ });
    }
    if (typed) {
      ts.setTextboxValue(typed);
      ts.load(typed);
    }
    return ts;
  }

  // --- the search page: hits listed below the box while typing (links to the entity pages) -------------------
  function instant(q) {
    var results = document.getElementById(q.getAttribute("aria-controls") || "results");
    if (!results) return;
    var timer = null, last = "";
    q.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = q.value.trim();
        if (text === last) return;
        last = text;
        if (!text) { results.replaceChildren(); return; }
        fetch(searchUrl(text, "", 15), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {items: []}; })
          .then(function (body) {
            if (q.value.trim() !== text) return;
            var items = body.items.map(function (it) {
              var li = el("li", it.current === false ? "pk-ended" : "");
              var a = el("a", "pk-name", it.name);
              a.href = it.url + "?lang=" + lang;
              li.append(a, el("span", "pk-meta", meta(it)));
              return li;
            });
            if (!items.length) items = [el("li", "muted", results.dataset.empty || "—")];
            results.replaceChildren.apply(results, items);
          })
          .catch(function () { /* the form still submits */ });
      }, 120);
    });
  }

  window.iocPicker = {attach: attach, meta: meta};

  function start() {
    document.querySelectorAll('input[data-picker="entity"]').forEach(function (input) { attach(input); });
    document.querySelectorAll('input[data-picker="search"]').forEach(instant);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
