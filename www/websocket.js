// WebSocket test page: an external script, so the default
// Content-Security-Policy (default-src 'self') allows it.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let ws = null;

  function endpoint() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let path = $("path").value || "/";
    if (!path.startsWith("/")) path = "/" + path;
    return scheme + "//" + location.host + path;
  }

  function log(text) {
    const li = document.createElement("li");
    li.textContent = new Date().toISOString().slice(11, 23) + "  " + text;
    $("log").prepend(li);
  }

  function connected(on) {
    $("connect").disabled = on;
    $("disconnect").disabled = !on;
    $("send-text").disabled = !on;
    $("send-binary").disabled = !on;
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
  }

  $("url").textContent = endpoint();
  $("path").addEventListener("input", () => { $("url").textContent = endpoint(); });

  $("connect").addEventListener("click", () => {
    const url = endpoint();
    $("status").textContent = "connecting to " + url;
    ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      $("status").textContent = "open (" + url + ")";
      log("open, extensions: " + (ws.extensions || "none") + ", protocol: " + (ws.protocol || "none"));
      connected(true);
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        log("echo (text): " + ev.data);
      } else {
        log("echo (binary, " + ev.data.byteLength + " bytes): " + hex(new Uint8Array(ev.data)));
      }
    };
    ws.onerror = () => log("error (the close event gives the code)");
    ws.onclose = (ev) => {
      $("status").textContent = "closed with code " + ev.code + (ev.wasClean ? " (clean)" : " (not clean)");
      log("close: code " + ev.code + (ev.reason ? ", reason: " + ev.reason : ""));
      connected(false);
      ws = null;
    };
  });

  $("disconnect").addEventListener("click", () => { if (ws) ws.close(1000, "bye"); });

  $("send-text").addEventListener("click", () => {
    const t = $("text").value;
    ws.send(t);
    log("sent (text): " + t);
  });

  $("send-binary").addEventListener("click", () => {
    const bytes = new TextEncoder().encode($("text").value);
    ws.send(bytes.buffer);
    log("sent (binary, " + bytes.length + " bytes): " + hex(bytes));
  });
})();
