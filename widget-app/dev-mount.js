// For `trunk serve` only: mounts the widget the way loader/palisade.js does (into an open shadow
// root, styled only by palisade.css), but from the bindings Trunk's own script has loaded.
(() => {
  "use strict";

  let mounted = false;

  const mountWidget = () => {
    const bindings = window.wasmBindings;
    if (mounted || !bindings || !document.body) {
      return;
    }
    mounted = true;
    const host = document.createElement("div");
    host.id = "palisade-widget";
    document.body.append(host);
    const root = host.attachShadow({ mode: "open" });
    const stylesheet = document.createElement("link");
    stylesheet.rel = "stylesheet";
    stylesheet.href = new URL("palisade.css", document.baseURI).href;
    const container = document.createElement("div");
    container.className = "palisade-root";
    container.dataset.theme = "auto";
    root.append(stylesheet, container);
    // Same origin: Trunk proxies /api/ (and the WebSocket) to the chat server. No options:
    // every one has its default.
    bindings.mount(host, container, "dev", location.origin, {});
  };

  addEventListener("TrunkApplicationStarted", mountWidget);
  // In case the application started before this script ran.
  mountWidget();
})();
