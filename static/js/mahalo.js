// Small progressive enhancements; every page works without them. Loaded in <head> (not deferred)
// so the "js" class is set before the first paint: the small-screen menu starts closed.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  function $(sel, ctx) { return (ctx || document).querySelector(sel); }
  function $$(sel, ctx) { return Array.prototype.slice.call((ctx || document).querySelectorAll(sel)); }
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // --- Announcements: one polite and one assertive live region in base.html --------------
  function announce(text, urgent) {
    var region = document.getElementById(urgent ? "live-assertive" : "live-polite");
    if (!region || !text) { return; }
    region.textContent = "";
    // A fresh text node after a tick is read even when the words repeat.
    window.setTimeout(function () { region.textContent = text.replace(/\s+/g, " ").trim(); }, 60);
  }

  // --- Focus a thing that is not focusable by itself ------------------------------------
  function focusEl(el) {
    if (!el) { return false; }
    if (!el.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      el.setAttribute("tabindex", "-1");
    }
    el.focus({ preventScroll: false });
    return document.activeElement === el;
  }

  // After a form error: the first invalid field, or the error summary.
  function focusFirstError(scope) {
    var field = $("[aria-invalid=true], .field-error input, .field-error select, .field-error textarea", scope);
    var summary = $(".errorlist.nonfield, [data-error-summary], .message-error, [role=alert]:not(:empty)", scope);
    var list = $(".errorlist", scope);
    if (!field && !summary && !list) { return false; }
    var count = $$(".errorlist li", scope).length;
    announce((count > 1 ? count + " problems to fix. " : "") +
             ((summary || list) ? (summary || list).textContent : "Please check the highlighted field."), true);
    if (!field && list) {
      var holder = list.closest(".field, p, td, fieldset");
      field = holder && $("input:not([type=hidden]), select, textarea", holder);
    }
    return focusEl(field || summary || list);
  }

  // --- Tables: label each cell with its column, so a stacked row on a phone still says what each value is.
  function labelTables(scope) {
    $$("main table.data", scope).forEach(function (table) {
      var heads = $$("thead th", table).map(function (th) { return th.textContent.replace(/\s+/g, " ").trim(); });
      if (heads.length < 4) { return; }
      table.classList.add("stack");
      $$("tbody tr", table).forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (td, i) {
          if (td.tagName === "TD" && !td.hasAttribute("data-label") && td.colSpan === 1) {
            td.setAttribute("data-label", heads[i] || "");
          }
        });
      });
    });
  }

  // --- Menus: the small-screen nav, the user menu, the search results; Escape closes them ---
  function closeMenus(except) {
    $$("details[data-menu][open], details.usermenu[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  function setNav(open) {
    var toggle = $(".nav-toggle"), nav = document.getElementById("mainnav");
    if (!toggle || !nav) { return; }
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("is-open", open);
  }

  // --- The patient search (a combobox over an HTMX listbox) ------------------------------
  function searchInput() { return $("[data-gsearch]"); }
  function searchOptions() { return $$("#global-search-results [role=option]"); }
  function searchOpen(open) {
    var input = searchInput(), box = document.getElementById("global-search-results");
    if (!input || !box) { return; }
    input.setAttribute("aria-expanded", open && searchOptions().length ? "true" : "false");
    box.hidden = !open;
    if (!open) { input.removeAttribute("aria-activedescendant"); }
  }
  function searchSelect(index) {
    var options = searchOptions(), input = searchInput();
    if (!options.length) { return; }
    index = (index + options.length) % options.length;
    options.forEach(function (opt, i) { opt.setAttribute("aria-selected", i === index ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", options[index].id);
    options[index].scrollIntoView({ block: "nearest" });
  }
  function searchCurrent() {
    var options = searchOptions();
    for (var i = 0; i < options.length; i++) {
      if (options[i].getAttribute("aria-selected") === "true") { return i; }
    }
    return -1;
  }

  // --- The alert queue: j/k move, a acknowledges, o/Enter opens, p opens the patient, x selects
  function queueRows() { return $$("table.al-table tbody tr.al-row"); }
  function queueCurrent() { return $("table.al-table tbody tr.kb-current"); }
  function queueMove(row) {
    if (!row) { return; }
    queueRows().forEach(function (r) { r.classList.remove("kb-current"); });
    row.classList.add("kb-current");
    focusEl(row);
    row.scrollIntoView({ block: "nearest" });
  }
  function queueStep(delta) {
    var rows = queueRows(), current = queueCurrent();
    if (!rows.length) { return; }
    var i = current ? rows.indexOf(current) : -1;
    queueMove(rows[Math.max(0, Math.min(rows.length - 1, i + delta))] || rows[0]);
  }
  // The row after an acted-on one: the next that still waits for someone, else the next, else this.
  function nextRowAfter(row) {
    var rows = queueRows(), i = rows.indexOf(row);
    for (var j = i + 1; j < rows.length; j++) {
      if (rows[j].classList.contains("al-row-active")) { return rows[j]; }
    }
    return rows[i + 1] || row;
  }

  function shortcutsDialog() { return document.getElementById("shortcuts-dialog"); }
  function openShortcuts() {
    var dialog = shortcutsDialog();
    if (dialog && !dialog.open && dialog.showModal) { closeMenus(); dialog.showModal(); }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Escape") {
      var open = $("details[data-menu][open], details.usermenu[open]");
      if (open) { open.removeAttribute("open"); $("summary", open).focus(); event.preventDefault(); return; }
      var nav = document.getElementById("mainnav");
      if (nav && nav.classList.contains("is-open")) { setNav(false); $(".nav-toggle").focus(); event.preventDefault(); return; }
      if (target === searchInput()) { searchOpen(false); return; }
      var openDetails = target.closest && target.closest("details[open]");
      if (openDetails) { openDetails.removeAttribute("open"); $("summary", openDetails).focus(); return; }
      return;
    }
    if (target === searchInput()) {
      var options = searchOptions();
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (options.length) {
          searchOpen(true);
          searchSelect(searchCurrent() + (event.key === "ArrowDown" ? 1 : -1));
          event.preventDefault();
        }
      } else if (event.key === "Enter") {
        var i = searchCurrent();
        if (options.length && i >= 0 && !$("#global-search-results").hidden) {
          event.preventDefault();
          window.location.assign(options[i].getAttribute("data-href"));
        }
        // No results shown yet: the form goes to the registry with the same words.
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(target)) { return; }
    if (shortcutsDialog() && shortcutsDialog().open) { return; }
    if (event.key === "/" && searchInput()) {
      event.preventDefault();
      searchInput().focus();
      searchInput().select();
      return;
    }
    if (event.key === "?" && shortcutsDialog()) { event.preventDefault(); openShortcuts(); return; }
    if (!queueRows().length) { return; }
    var row = queueCurrent();
    switch (event.key) {
      case "j": event.preventDefault(); queueStep(1); break;
      case "k": event.preventDefault(); queueStep(-1); break;
      case "a":
        if (row) {
          var ack = $("form[action$='/acknowledge/'] button[type=submit]", row);
          if (ack) { event.preventDefault(); ack.click(); }
          else { announce("This alert can't be acknowledged: it is " + ($(".badge[class*=al-st-]", row) || {}).textContent + ".", false); }
        }
        break;
      case "x":
        if (row) {
          var box = $("input[type=checkbox]", row);
          if (box) { event.preventDefault(); box.click(); announce(box.checked ? "Selected." : "Not selected.", false); }
        }
        break;
      case "o": case "Enter":
        if (row && target === row) {
          var link = $(".al-what > a", row);
          if (link) { event.preventDefault(); window.location.assign(link.href); }
        }
        break;
      case "p":
        if (row) {
          var chart = $("a.row-link", row);
          if (chart) { event.preventDefault(); window.location.assign(chart.href); }
        }
        break;
    }
  });

  // A <select data-autosubmit> submits its form on change (program switcher, filters).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) { el.form.requestSubmit(); } else { el.form.submit(); }
    }
  });

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".nav-toggle");
    if (toggle) { setNav(toggle.getAttribute("aria-expanded") !== "true"); return; }
    if (event.target.closest && event.target.closest("[data-shortcuts-open]")) { openShortcuts(); return; }
    // Close the user menu (and other menus) when clicking elsewhere.
    $$("details.usermenu[open], details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
    var option = event.target.closest && event.target.closest("#global-search-results [role=option]");
    if (option) { window.location.assign(option.getAttribute("data-href")); return; }
    var form = $(".gsearch");
    if (form && !form.contains(event.target)) { searchOpen(false); }
    var row = event.target.closest && event.target.closest("table.al-table tbody tr.al-row");
    if (row) { queueRows().forEach(function (r) { r.classList.toggle("kb-current", r === row); }); }
  });
  document.addEventListener("toggle", function (event) {
    if (event.target.matches && event.target.matches("details.usermenu") && event.target.open) { closeMenus(event.target); }
  }, true);
  document.addEventListener("focusin", function (event) {
    if (event.target === searchInput() && searchOptions().length) { searchOpen(true); }
  });

  // --- After every HTMX swap: focus lands somewhere sensible and the result is announced ---
  var pending = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target, active = document.activeElement;
    pending = {
      target: target,
      id: target && target.id,
      hadFocus: !!(target && active && active !== document.body && target.contains(active)),
      row: target && target.matches && target.matches("tr.al-row") ? target : null,
      current: !!(target && target.classList && target.classList.contains("kb-current")),
    };
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var info = pending; pending = null;
    var el = event.detail.elt;
    if (el && el.id === "global-search-results") {
      searchOpen(true);
      if (searchOptions().length) { searchSelect(0); }
      var note = $(".gs-note", el);
      if (note) { announce(note.textContent, false); }
      return;
    }
    labelTables(document);
    if (!info) { return; }
    var fresh = (info.id && document.getElementById(info.id)) || el;
    var alertText = $("[role=alert]", fresh), statusText = $("[role=status]", fresh);
    if (alertText && alertText.textContent.trim()) { announce(alertText.textContent, true); }
    else if (statusText && statusText.textContent.trim()) { announce(statusText.textContent, false); }
    // Only a swap that took the focus away moves it (a lazy-loaded badge never steals it).
    if (!info.hadFocus) { return; }
    var lost = !document.activeElement || document.activeElement === document.body || !document.contains(document.activeElement);
    if (fresh && focusFirstError(fresh)) { return; }
    if (info.row && fresh && fresh.matches("tr.al-row")) {
      if (alertText && alertText.textContent.trim()) { queueMove(fresh); return; }
      queueMove(nextRowAfter(fresh));
      return;
    }
    var wanted = fresh && $("[data-focus-after-swap]", fresh);
    if (wanted) { focusEl(wanted); return; }
    if (lost && fresh) {
      focusEl($("h1, h2, [role=status], [role=alert]", fresh) || fresh);
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    announce(status >= 500 || status === 0 ? "Something went wrong; nothing was changed. Please try again."
      : "That didn't work (" + status + "). Please reload the page.", true);
  });

  function init() {
    var toggle = $(".nav-toggle");
    if (toggle) { toggle.hidden = false; }
    labelTables(document);
    // A full page that comes back with form errors: say so and put the cursor on the first one.
    var main = document.getElementById("main");
    if (main && $(".errorlist, [aria-invalid=true]", main)) { focusFirstError(main); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
