// HolaOlas behaviour that htmx attributes cannot express (no inline scripts: CSP script-src 'self').
(function () {
  "use strict";

  function here() {
    return location.pathname + location.search;
  }

  // ------------------------------------------------------------------------------------------
  // Bookings: the filter bar keeps empty fields out of the URL (/bookings?q=jose, not ?q=jose&from=&to=…)

  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (!ctx || !ctx.sourceElement || ctx.sourceElement.id !== "booking-filters") return;
    var body = ctx.request && ctx.request.body;
    if (!body || typeof body.getAll !== "function") return;
    Array.from(new Set(body.keys())).forEach(function (key) {
      var kept = body.getAll(key).filter(function (value) { return value !== ""; });
      body.delete(key);
      kept.forEach(function (value) { body.append(key, value); });
    });
  });

  // ------------------------------------------------------------------------------------------
  // Bookings: the drawer. It opens by an htmx swap into #drawer (the row's URL is pushed); focus
  // moves into it; Escape, the close button or the browser's Back close it, the URL returns to
  // the list's, and focus returns to the row that opened it. The list underneath never moves.

  var drawer = {
    opener: null,      // the element that opened the drawer, focused again on close
    returnUrl: null,   // the URL of the list or calendar under the drawer
    depth: 0,          // history entries pushed since the drawer opened over returnUrl
    deepLinked: false, // loaded at the drawer's URL: no list entry behind it in history
    closingBack: false // we asked history to go back to returnUrl ourselves
  };

  function host() {
    return document.getElementById("drawer");
  }

  function isOpen() {
    var h = host();
    return !!h && h.childElementCount > 0;
  }

  function isDrawerPath(path) {
    return /^\/bookings\/(?!calendar(?:[/?]|$))[^/?]+(?:\?.*)?$/.test(path);
  }

  function focusInto(h) {
    if (!h.querySelector("[data-drawer-close]")) {
      // Whatever landed in the drawer (a "not found" message) can be closed too.
      var button = document.createElement("button");
      button.type = "button";
      button.className = "drawer-close";
      button.setAttribute("data-drawer-close", "");
      button.setAttribute("aria-label", h.getAttribute("data-close-label") || "Close");
      button.textContent = "×";
      h.appendChild(button);
    }
    var target = h.querySelector("#drawer-title") || h.firstElementChild;
    if (!target) return;
    if (!target.hasAttribute("tabindex") && !target.matches("a, button")) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
  }

  // Below 900 px the drawer covers the whole screen: a modal dialog, so what it hides is inert
  // (Tab stays in the drawer, a screen reader reads only it). On a desk it is a side panel and
  // the list beside it stays usable.
  var fullScreen = window.matchMedia ? window.matchMedia("(max-width: 899px)") : null;

  function setModal() {
    var modal = isOpen() && !!fullScreen && fullScreen.matches;
    [document.querySelector(".skip-link"), document.querySelector("header.topbar"),
     document.getElementById("bookings-view")].forEach(function (el) {
      if (el) el.inert = modal;
    });
    var panel = host() && host().querySelector("[role=dialog]");
    if (panel && modal) panel.setAttribute("aria-modal", "true");
    else if (panel) panel.removeAttribute("aria-modal");
  }

  if (fullScreen && typeof fullScreen.addEventListener === "function") fullScreen.addEventListener("change", setModal);

  function opened() {
    var h = host();
    if (!isOpen()) return;
    document.documentElement.classList.add("drawer-open");
    setModal();
    focusInto(h);
  }

  function emptyDrawer() {
    var h = host();
    if (h) h.replaceChildren();
    document.documentElement.classList.remove("drawer-open");
    setModal();
  }

  // The booking the drawer shows, read before it empties: its row takes the focus back when the
  // element that opened the drawer is gone (a deep link, a page restored from history).
  function shownReference() {
    var panel = host() && host().querySelector("[data-reference]");
    return panel ? panel.getAttribute("data-reference") : null;
  }

  function rowOf(reference) {
    if (!reference) return null;
    return Array.prototype.find.call(document.querySelectorAll("a.booking-link[data-reference]"), function (a) {
      return a.getAttribute("data-reference") === reference;
    }) || null;
  }

  function focusTarget(reference) {
    var target = drawer.opener && drawer.opener.isConnected ? drawer.opener : rowOf(reference);
    if (!target) target = document.getElementById("booking-list") || document.getElementById("calendar") || document.getElementById("main");
    if (target && !target.matches("a, button, input, select, textarea, [tabindex]")) target.setAttribute("tabindex", "-1");
    return target;
  }

  function returnFocus(afterTraverse, reference) {
    var target = focusTarget(reference);
    if (!target) return;
    target.focus({ preventScroll: true });
    if (afterTraverse && window.navigation && typeof window.navigation.addEventListener === "function") {
      // A history traversal intercepted by htmx resets focus to <body> once it settles: focus again then.
      window.navigation.addEventListener("navigatesuccess", function () {
        if (target.isConnected) target.focus({ preventScroll: true });
      }, { once: true });
    }
  }

  function reset() {
    drawer.opener = null;
    drawer.depth = 0;
    drawer.closingBack = false;
    drawer.deepLinked = false;
    drawer.returnUrl = null;
  }

  function closeDrawer() {
    if (!isOpen()) return;
    var link = host().querySelector("a[data-drawer-close]");
    var fallback = (link && link.getAttribute("href")) || "/bookings";
    var goBack = drawer.depth > 0 && !drawer.deepLinked && !!drawer.returnUrl;
    var reference = shownReference();
    emptyDrawer();
    returnFocus(goBack, reference);
    if (goBack) {
      // Back to the list's own history entry: Back and Forward keep making sense.
      drawer.closingBack = true;
      history.go(-drawer.depth);
    } else {
      var back = drawer.returnUrl || fallback;
      if (back !== here()) history.pushState({ htmx: true }, "", back);
      drawer.returnUrl = null;
    }
    drawer.depth = 0;
    drawer.opener = null;
  }

  // The state of a page that arrived whole (first load, or a history restore).
  function syncFromPage() {
    reset();
    if (isOpen()) {
      var link = host().querySelector("a[data-drawer-close]");
      drawer.deepLinked = true;
      drawer.returnUrl = (link && link.getAttribute("href")) || "/bookings";
      opened();
    } else {
      document.documentElement.classList.remove("drawer-open");
    }
  }

  document.addEventListener("htmx:before:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (!ctx || !ctx.target || !ctx.target.id) return;
    ctx.holaolasUrlBefore = here();
    var source = ctx.sourceElement;
    // Read now: by the time the answer is swapped in, htmx may report the target as the source.
    ctx.holaolasBackToDay = source && source.getAttribute ? source.getAttribute("data-back-to-day") : null;
    var id = ctx.target.id;
    if (id === "drawer") {
      var fromInside = host() && host().contains(ctx.sourceElement);
      if (!isOpen()) {
        drawer.returnUrl = here();
        drawer.depth = 0;
        drawer.deepLinked = false;
      }
      if (!fromInside && ctx.sourceElement !== document.body) drawer.opener = ctx.sourceElement;
    } else if (id === "booking-list" || id === "bookings-view" || id === "calendar") {
      // Filtering or changing view leaves the booking: the drawer closes without touching history.
      if (isOpen()) {
        emptyDrawer();
        reset();
      }
      if (id === "booking-list") ctx.target.setAttribute("aria-busy", "true");
    }
  });

  // The fields a message in the filter bar is about are marked invalid (and the "more filters"
  // panel holding one opens), after a swap of the list as on a whole page load.
  function markInvalidFilters() {
    var form = document.getElementById("booking-filters");
    if (!form) return;
    var list = document.querySelector("#filter-messages [data-invalid-fields]");
    var invalid = list ? list.getAttribute("data-invalid-fields").split(" ") : [];
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.type === "hidden") return;
      if (invalid.indexOf(field.name) >= 0) {
        field.setAttribute("aria-invalid", "true");
        var panel = field.closest("details");
        if (panel) panel.open = true;
      } else {
        field.removeAttribute("aria-invalid");
      }
    });
  }

  document.addEventListener("htmx:finally:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (!ctx || !ctx.target || ctx.target.id !== "booking-list") return;
    // The list is swapped whole (outerHTML): the old one, marked busy, is usually gone by now.
    if (ctx.target.isConnected) ctx.target.removeAttribute("aria-busy");
    markInvalidFilters();
  });

  document.addEventListener("htmx:after:swap", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (!ctx || !ctx.target) return;
    if (ctx.target === document.body) {
      syncFromPage();
      return;
    }
    if (ctx.target.id === "drawer") {
      if (here() !== ctx.holaolasUrlBefore) drawer.depth += 1;
      opened();
    } else if (ctx.target.id === "calendar-day") {
      var title = document.getElementById("day-title");
      if (title) title.focus({ preventScroll: true });
    } else if (ctx.target.id === "calendar" && ctx.holaolasBackToDay) {
      // "Back to the month" from a day: the day's own place in the month takes the focus (and the view).
      var date = ctx.holaolasBackToDay;
      var cell = Array.prototype.find.call(document.querySelectorAll("#calendar li[data-date]"), function (li) {
        return li.getAttribute("data-date") === date;
      });
      var link = cell && cell.querySelector("a.cal-link");
      if (link) {
        link.focus({ preventScroll: true });
        link.scrollIntoView({ block: "center" });
      }
    }
  });

  document.addEventListener("htmx:before:history:restore", function (event) {
    var path = event.detail && event.detail.path;
    if (drawer.closingBack) {
      drawer.closingBack = false;
      if (path === drawer.returnUrl) {
        event.preventDefault(); // the list is already on screen, as it was
        drawer.returnUrl = null;
        return;
      }
    }
    if (isOpen() && !drawer.deepLinked && drawer.returnUrl) {
      if (path === drawer.returnUrl) {
        // The browser's Back while the drawer is open: close it over the list that is still there.
        event.preventDefault();
        var reference = shownReference();
        emptyDrawer();
        returnFocus(true, reference);
        reset();
        return;
      }
      if (isDrawerPath(path) && drawer.depth > 1) {
        // Back from one booking to the previous one in the drawer: swap the drawer only.
        event.preventDefault();
        drawer.depth -= 1;
        window.htmx.ajax("GET", path, { target: "#drawer", swap: "innerHTML" });
        return;
      }
    }
    reset(); // a whole page comes back; syncFromPage runs after its swap
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) {
      event.preventDefault();
      closeDrawer();
      return;
    }
    // "/" jumps to the bookings search from anywhere on the list but a field (as in most web apps).
    var search = document.getElementById("filter-q");
    if (event.key === "/" && search && !event.ctrlKey && !event.metaKey && !event.altKey && !isOpen() &&
        !(event.target.closest && event.target.closest("input, textarea, select, [contenteditable]"))) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-drawer-close]");
    if (!button || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    closeDrawer();
  });

  // ------------------------------------------------------------------------------------------
  // No connection: a swap that cannot reach the server (or times out) says so instead of doing
  // nothing; the next answer from the server, or the OK button, hides the message.

  function connectionAlert(show) {
    var box = document.getElementById("connection-alert");
    if (box) box.hidden = !show;
  }

  document.addEventListener("htmx:error", function (event) {
    if (event.detail && event.detail.ctx) connectionAlert(true); // a request's error, not a script's
  });

  document.addEventListener("htmx:after:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.response) connectionAlert(false);
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-dismiss-alert]")) connectionAlert(false);
  });

  // On a phone the tabs scroll sideways within their strip: bring the current one into view.
  function showCurrentTab() {
    var tab = document.querySelector(".mainnav [aria-current=page]");
    if (tab && tab.parentElement.scrollWidth > tab.parentElement.clientWidth) {
      tab.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  function ready() {
    syncFromPage();
    showCurrentTab();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
