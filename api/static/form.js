// ioc-catalog: the registration and edit form's connection rows (api/templates/form.html, api/web/forms.py).
// "Add a connection" and the suggested connections ("writes a database", "sends data to the IOC via the LGSP" ...)
// add a row here instead of sending the form; a new row's "remove" drops it; a connection type limits the target
// picker to the kinds that type may point at. Without JavaScript the same buttons send the form, which comes back
// with what was typed and one more row; removing a stored connection is a tick box either way.
"use strict";
(function () {
  function rows() { return document.getElementById("conn-rows"); }

  // the next free row number: every row's fields are named link_<i>_<field>
  function nextIndex() {
    var max = -1;
    document.querySelectorAll("#conn-rows [name^='link_']").forEach(function (el) {
      var m = /^link_(\d+)_/.exec(el.name);
      if (m) max = Math.max(max, parseInt(m[1], 10));
    });
    return max + 1;
  }

  function renumber(node, i) {
    node.querySelectorAll("[id],[name],[for],[aria-describedby]").forEach(function (el) {
      ["id", "name", "for", "aria-describedby"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v && v.indexOf("__i__") >= 0) el.setAttribute(attr, v.split("__i__").join(String(i)));
      });
    });
  }

  function attachPicker(input) {
    input.setAttribute("data-picker", "entity");
    if (window.iocPicker) window.iocPicker.attach(input);
  }

  // the target picker asks for the kinds the chosen type allows
  function wireType(row) {
    var type = row.querySelector("[data-conn-type]");
    var target = row.querySelector("input[name$='_target']");
    if (!type || !target) return;
    type.addEventListener("change", function () {
      var opt = type.options[type.selectedIndex];
      target.dataset.kinds = (opt && opt.dataset.kinds) || "";
      var ts = target.tomselect;
      if (ts) {  // a chosen target of a kind the new type does not allow is cleared
        var kinds = target.dataset.kinds.split(",");
        var ref = ts.getValue();
        if (ref && kinds.indexOf(ref.split(":")[0]) < 0) ts.clear();
        ts.clearOptions();
      }
    });
  }

  function wireDrop(row) {
    var drop = row.querySelector("[data-conn-drop]");
    if (!drop) return;
    drop.hidden = false;
    drop.addEventListener("click", function () {
      row.remove();
      var first = document.querySelector("#conn-rows select, #add-row");
      if (first) first.focus();
    });
  }

  function wireRemove(row) {
    var tick = row.querySelector("[data-conn-remove]");
    if (!tick) return;
    tick.addEventListener("change", function () { row.classList.toggle("conn-removed", tick.checked); });
  }

  function addRow(values, initial, pattern) {
    var tpl = document.getElementById("conn-template");
    if (!tpl || !rows()) return null;
    var i = nextIndex();
    var row = tpl.content.firstElementChild.cloneNode(true);
    renumber(row, i);
    values = values || {};
    Object.keys(values).forEach(function (f) {
      var el = row.querySelector("[name='link_" + i + "_" + f + "']");
      if (!el) return;
      el.value = values[f];
      if (el.tagName === "SELECT" && f === "type") {
        var opt = el.options[el.selectedIndex];
        var target = row.querySelector("input[name$='_target']");
        if (opt && target) target.dataset.kinds = opt.dataset.kinds || "";
      }
    });
    Object.keys(initial || {}).forEach(function (f) {
      var el = row.querySelector("[name='link_" + i + "_" + f + "']");
      if (el) el.dataset.initial = initial[f];
    });
    if (pattern) {
      var hint = document.createElement("input");
      hint.type = "hidden";
      hint.name = "link_" + i + "_pattern";
      hint.value = pattern;
      row.appendChild(hint);
    }
    rows().appendChild(row);
    row.querySelectorAll("input[data-picker]").forEach(attachPicker);
    wireType(row);
    wireDrop(row);
    return row;
  }

  function start() {
    if (!rows()) return;
    document.querySelectorAll("#conn-rows [data-conn-row]").forEach(function (row) {
      wireType(row);
      wireDrop(row);
      wireRemove(row);
    });
    var add = document.getElementById("add-row");
    if (add) {
      add.addEventListener("click", function (ev) {
        ev.preventDefault();
        var row = addRow();
        if (row) row.querySelector("select").focus();
      });
    }
    document.querySelectorAll("[data-pattern]").forEach(function (button) {
      button.addEventListener("click", function (ev) {
        ev.preventDefault();
        var values = {};
        try { values = JSON.parse(button.dataset.pattern); } catch (e) { values = {}; }
        var initial = {};
        if (button.dataset.initialTarget) initial.target = button.dataset.initialTarget;
        if (button.dataset.initialVia) initial.via = button.dataset.initialVia;
        var row = addRow(values, initial, button.dataset.patternName);
        if (!row) return;
        // the row's first field left to fill: the target when the suggestion has none, else the data carried
        var next = values.target ? row.querySelector("input[name$='_data']") : row.querySelector("input[name$='_target']");
        var box = next && next.tomselect ? next.tomselect.control_input : next;
        if (box) box.focus();
        row.scrollIntoView({block: "nearest"});
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
