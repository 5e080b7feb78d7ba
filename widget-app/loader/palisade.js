/*
 * Palisade embed loader.
 *
 *   <script src="https://chat.example.com/widget/palisade.js" data-site="your-site" async
 *           integrity="sha384-…" crossorigin="anonymous"></script>
 *
 * The integrity value is published in /widget/integrity.json under "palisade.js".
 *
 * A classic script (not a module) so it works from a plain tag. It needs no inline script or
 * style from the host page, uses no eval, and defines one global: window.Palisade.
 * data-site   required: the site's public id.
 * data-server optional: the chat server's origin; defaults to the origin this file came from.
 */
(() => {
  "use strict";

  const VERSION = "0.1.0";
  // What this loader fetches. The release build (`cargo xtask`) rewrites this block with
  // content-hashed names and their Subresource Integrity hashes, so the loader a host page
  // pins pins everything after it. As written here (a plain `trunk build`), nothing is pinned.
  // @pinned-assets-start
  const ASSETS = {
    glue: { path: "palisade-widget.js", integrity: "" },
    wasm: { path: "palisade-widget_bg.wasm", integrity: "" },
    css: { path: "palisade.css", integrity: "" },
  };
  // @pinned-assets-end

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
    const pinned = (element, asset) => {
      if (asset.integrity) {
        element.integrity = asset.integrity;
        element.crossOrigin = "anonymous";
      }
      element.href = `${base}${asset.path}`;
      return element;
    };
    const stylesheet = document.createElement("link");
    stylesheet.rel = "stylesheet";
    pinned(stylesheet, ASSETS.css);
    // import() takes no integrity, but it reuses this preload's verified fetch of the same URL,
    // and a preload that fails its check makes that import fail too.
    const glueCheck = document.createElement("link");
    glueCheck.rel = "modulepreload";
    pinned(glueCheck, ASSETS.glue);
    // Mount after the stylesheet (or its failure) so the widget never flashes unstyled.
    // A pinned stylesheet that fails its check was changed: better no widget than one styled
    // by someone else. An unpinned one that fails to load leaves the widget unstyled.
    const styled = new Promise((resolve, reject) => {
      stylesheet.addEventListener("load", resolve, { once: true });
      stylesheet.addEventListener("error", ASSETS.css.integrity ? reject : resolve, { once: true });
    });
    const container = document.createElement("div");
    container.className = "palisade-root";
    root.append(glueCheck, stylesheet, container);

    const run = async () => {
      let glue;
      try {
        [glue] = await Promise.all([import(`${base}${ASSETS.glue.path}`), styled]);
      } catch (cause) {
        fail(
          `could not load the widget's code from ${base}: blocked by this page's ` +
            "Content-Security-Policy, by missing CORS headers, by a file that fails its integrity " +
            "check (changed since this loader was built), or by an untrusted certificate " +
            `(for a local development certificate, open ${src.origin}/healthz once, accept it, and reload).`,
          cause,
        );
        return;
      }
      try {
        const wasm = fetch(`${base}${ASSETS.wasm.path}`, { integrity: ASSETS.wasm.integrity, credentials: "omit" });
        await glue.default({ module_or_path: wasm });
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
