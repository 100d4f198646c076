// The dashboard's only script: live updates and keeping the user's place while they happen.
// Pages work without it (plain links and forms); htmx makes them faster, this makes them live.
(function () {
  "use strict";
  var body = document.body;
  var lastEventAt = 0;
  var navigationStartedAt = 0;

  function changed() {
    lastEventAt = Date.now();
    if (window.htmx) { window.htmx.trigger(body, "todosync:changed"); }
  }

  // Server-sent events tell the page that something changed; the live part then reloads
  // itself (debounced in its hx-trigger). A (re)connection may have missed events: reload.
  if (body.dataset.live === "events" && window.EventSource) {
    var source = new EventSource(body.dataset.eventsUrl);
    source.addEventListener("connected", changed);
    source.addEventListener("changed", changed);
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function isLive(elt) { return elt && elt.id === "live"; }

  function editing(live) {
    var active = document.activeElement;
    var typing = active && live.contains(active) &&
      active.matches("input:not([type=radio]):not([type=hidden]), textarea, select");
    return typing || live.querySelector("form[data-dirty]") !== null;
  }

  // A refresh never throws away what the user is typing or has chosen but not sent.
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (form && form.closest("#live")) { form.setAttribute("data-dirty", ""); }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (event.detail.boosted) { navigationStartedAt = Date.now(); }
    if (isLive(elt) && editing(elt)) { event.preventDefault(); }
  });
  // An event that came while a link or form was loading the next page found no live part
  // to refresh (the old page had none, or it was replaced): the new page catches up.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.boosted && lastEventAt >= navigationStartedAt) { changed(); }
  });

  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!isLive(elt)) { return; }
    // a failed refresh (server restarting, session ended) keeps what the page shows
    if (event.detail.xhr.status >= 400) { event.detail.shouldSwap = false; return; }
    // identical content: nothing to do (keeps text selection and scroll position)
    if (event.detail.serverResponse.trim() === elt.outerHTML.trim()) {
      event.detail.shouldSwap = false; return;
    }
    var active = document.activeElement;
    focusedId = active && elt.contains(active) && active.id ? active.id : null;
  });
  // keyboard users keep their place: the element that had focus gets it back
  document.addEventListener("htmx:afterSettle", function () {
    if (focusedId) {
      var again = document.getElementById(focusedId);
      if (again) { again.focus({ preventScroll: true }); }
      focusedId = null;
    }
  });
})();
