/*
 * Palisade embed loader.
 *
 *   <script src="https://chat.example.com/widget/palisade.js" data-site="your-site" async
 *           crossorigin="anonymous"></script>
 *
 * A classic script (not a module) so it works from a plain tag. It needs no inline script or
 * style from the host page, uses no eval, and defines one global: window.Palisade.
 * data-site   required: the site's public id.
 * data-server optional: the chat server's origin; defaults to the origin this file came from.
 */
(() => {
  "use strict";

  const VERSION = "0.1.0";
  // Trunk's names for wasm-bindgen's output with `filehash = false` (see Trunk.toml).
  const GLUE = "palisade-widget.js";
  const WASM = "palisade-widget_bg.wasm";

  // Only readable now, while this script runs for the first time.
  const script = document.currentScript;
  if (!script || !script.src) {
    console.error("Palisade: load palisade.js with <script src=\"…/widget/palisade.js\">, not inline or as a module.");
    return;
  }
  // Included twice on one page: the first copy wins.
  if (window.Palisade) {
    return;
  }
  window.Palisade = Object.freeze({ version: VERSION });

  const src = new URL(script.src, document.baseURI);
  const base = new URL(".", src).href;
  const site = script.dataset.site || "";
  const server = script.dataset.server || src.origin;

  const start = () => {
    const host = document.createElement("div");
    host.id = "palisade-widget";
    document.body.appendChild(host);

    const fail = (message, cause) => {
      console.error(`Palisade: ${message}`, cause ?? "");
      host.dispatchEvent(new CustomEvent("palisade:error", { bubbles: true, detail: { message } }));
    };

    if (!site) {
      fail("the <script> tag needs a data-site attribute with your site's id.");
      return;
    }

    // Open so the page's tests and assistive tooling can reach in; host styles still cannot.
    const root = host.attachShadow({ mode: "open" });
    const stylesheet = document.createElement("link");
    stylesheet.rel = "stylesheet";
    stylesheet.href = `${base}palisade.css`;
    // Mount after the stylesheet (or its failure) so the widget never flashes unstyled.
    const styled = new Promise((resolve) => {
      stylesheet.addEventListener("load", resolve, { once: true });
      stylesheet.addEventListener("error", resolve, { once: true });
    });
    const container = document.createElement("div");
    container.className = "palisade-root";
    root.append(stylesheet, container);

    const run = async () => {
      let glue;
      try {
        [glue] = await Promise.all([import(`${base}${GLUE}`), styled]);
      } catch (cause) {
        fail(
          `could not load the widget's code from ${base}: blocked by this page's ` +
            "Content-Security-Policy, by missing CORS headers, or by an untrusted certificate " +
            `(for a local development certificate, open ${src.origin}/healthz once, accept it, and reload).`,
          cause,
        );
        return;
      }
      try {
        await glue.default({ module_or_path: `${base}${WASM}` });
        glue.mount(container, site, server);
      } catch (cause) {
        fail("the widget failed to start.", cause);
      }
    };
    run();
  };

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  }
})();
