// needtoknow pages work without this script; it only adds to them.
// The error summary takes the focus when a form comes back with errors.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
});

// --- live alerts (issue 17) ---
// On a page whose <main> carries data-live-alerts, a GraphQL subscription over a
// WebSocket (graphql-transport-ws at /graphql/ws, signed in by the session cookie)
// keeps the "Alerts" link's unread count and says, politely, when something new
// arrives. It shows only what the Alerts page shows; the page works without it.
(function () {
  var main = document.querySelector("main[data-live-alerts]");
  if (!main || !window.WebSocket) {
    return;
  }
  var QUERY = "subscription LiveAlerts { alertNotices { unreadCount alert { id kind } } }";
  var link = document.querySelector('nav a[href="/alerts"]');
  var region = document.createElement("div");
  region.className = "live-alerts";
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "polite");
  main.insertBefore(region, main.firstChild);
  var delay = 2000;

  function say(text, href, words) {
    var paragraph = document.createElement("p");
    var anchor = document.createElement("a");
    paragraph.appendChild(document.createTextNode(text + " "));
    anchor.href = href;
    anchor.textContent = words;
    paragraph.appendChild(anchor);
    region.replaceChildren(paragraph);
  }

  function show(notice) {
    if (link) {
      link.textContent = notice.unreadCount > 0 ? "Alerts (" + notice.unreadCount + " unread)" : "Alerts";
    }
    if (!notice.alert) {
      return;
    }
    if (main.hasAttribute("data-live-board") && notice.alert.kind === "LODGE_ALERT") {
      say("The lodge alerts have changed:", "/lodge", "reload the board");
    } else {
      say("Something needs your attention:", "/alerts", "open Alerts");
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/graphql/ws", "graphql-transport-ws");
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        delay = 2000;
        socket.send(JSON.stringify({ id: "alerts", type: "subscribe", payload: { query: QUERY } }));
      } else if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (message.type === "next" && message.payload && message.payload.data) {
        main.setAttribute("data-live-alerts", "connected");
        show(message.payload.data.alertNotices);
      }
    };
    socket.onclose = function (event) {
      main.setAttribute("data-live-alerts", "closed");
      // 4401/4403: signed out, or not allowed; 4400: a fault of this script. Otherwise
      // (the server restarting, the network) try again, less and less often.
      if (event.code !== 4401 && event.code !== 4403 && event.code !== 4400 && delay <= 60000) {
        window.setTimeout(connect, delay);
        delay *= 2;
      }
    };
  }

  connect();
})();
