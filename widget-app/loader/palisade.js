/*
 * Palisade embed loader.
 *
 *   <script src="https://chat.example.com/widget/palisade.js" data-site="your-site" async
 *           integrity="sha384-…" crossorigin="anonymous"></script>
 *
 * The integrity value is published in /widget/integrity.json under "palisade.js".
 *
 * A classic script (not a module) so it works from a plain tag. It needs no inline script or
 * style from the host page, uses no eval, builds no markup from strings, and defines one
 * global: window.Palisade. It draws the launcher at once and loads the app (the wasm-bindgen
 * glue and the WebAssembly module) only when the browser is idle or someone shows interest
 * (points at, focuses or clicks the launcher, or the page calls Palisade.open()).
 *
 * data-site     required: the site's public id.
 * data-server   optional: the chat server's origin; defaults to the origin this file came from.
 * data-position right | left                  data-accent  #rgb | #rrggbb
 * data-theme    light | dark | auto           data-open    open the panel once loaded
 * data-launcher hidden: no button; the page opens the panel with Palisade.open()
 * data-locale   en | de | ar (any tag of those languages, such as de-AT); else the page's
 *               <html lang>, then the browser's languages, then English
 * data-notify   title and/or sound: a count in the page's title and a chime for messages that
 *               arrive while the panel is closed (off by default)
 * The app checks these and names a wrong one on the console; until it runs, the launcher uses
 * only the values it can see are right.
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

  const src = new URL(script.src, document.baseURI);
  const base = new URL(".", src).href;
  const data = script.dataset;
  const site = data.site || "";
  const server = data.server || src.origin;
  const options = {
    position: data.position,
    accent: data.accent,
    theme: data.theme,
    open: data.open,
    launcher: data.launcher,
    locale: data.locale,
    notify: data.notify,
  };

  // Calls made before the app runs wait here and are replayed in order once it does.
  const queue = [];
  let widget = null;
  let failed = false;
  // Until the host element exists (before DOMContentLoaded), a load can only be asked for.
  let loadWanted = false;
  let load = () => {
    loadWanted = true;
  };

  const call = (method, ...args) => {
    if (widget) {
      widget[method](...args);
    } else if (!failed) {
      queue.push([method, args]);
      // Someone wants the panel now: waiting for an idle moment would only keep them waiting.
      if (method === "open" || method === "toggle") {
        load();
      }
    }
  };
  window.Palisade = Object.freeze({
    version: VERSION,
    open: () => call("open"),
    close: () => call("close"),
    toggle: () => call("toggle"),
    signOut: () => call("signOut"),
    setTheme: (theme) => call("setTheme", String(theme)),
    setLocale: (tag) => call("setLocale", String(tag)),
  });

  const start = () => {
    const host = document.createElement("div");
    host.id = "palisade-widget";
    document.body.appendChild(host);
    let placeholder = null;

    const fail = (message, cause) => {
      failed = true;
      queue.length = 0;
      // A launcher that can never open anything would only mislead.
      placeholder?.remove();
      console.error(`Palisade: ${message}`, cause ?? "");
      host.dispatchEvent(new CustomEvent("palisade:error", { bubbles: true, composed: true, detail: { message } }));
    };

    if (!site) {
      fail("the <script> tag needs a data-site attribute with your site's id.");
      return;
    }

    // A custom property set through the CSSOM, which a strict CSP allows (a style attribute
    // would not be). The app sets it again, with a text colour that reads well on it.
    if (/^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(options.accent ?? "")) {
      host.style.setProperty("--palisade-accent", options.accent);
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
    // A pinned stylesheet that fails its check was changed: better no widget than one styled
    // by someone else. An unpinned one that fails to load leaves the widget unstyled.
    const styled = new Promise((resolve, reject) => {
      stylesheet.addEventListener("load", resolve, { once: true });
      stylesheet.addEventListener("error", ASSETS.css.integrity ? reject : resolve, { once: true });
    });
    const container = document.createElement("div");
    container.className = "palisade-root";
    container.dataset.position = options.position === "left" ? "left" : "right";
    container.dataset.theme = options.theme === "light" || options.theme === "dark" ? options.theme : "auto";
    root.append(stylesheet, container);

    // The app's launcher, drawn by hand until the app takes over (components/launcher.rs).
    const drawLauncher = () => {
      const svg = "http://www.w3.org/2000/svg";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "launcher";
      button.dataset.testid = "launcher";
      button.setAttribute("aria-label", "Open chat");
      button.setAttribute("aria-expanded", "false");
      const icon = document.createElementNS(svg, "svg");
      for (const [name, value] of [["class", "icon"], ["viewBox", "0 0 24 24"], ["aria-hidden", "true"], ["focusable", "false"]]) {
        icon.setAttribute(name, value);
      }
      const path = document.createElementNS(svg, "path");
      path.setAttribute("d", "M5 4h14a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-7l-5 4v-4H5a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
      icon.append(path);
      button.append(icon);
      button.addEventListener("pointerenter", () => load(), { once: true });
      button.addEventListener("focus", () => load(), { once: true });
      // Not lost while the app loads: the panel opens as soon as it runs.
      button.addEventListener("click", () => call("open"));
      return button;
    };
    // After the stylesheet (or its failure), so the launcher never flashes unstyled.
    styled.then(
      () => {
        if (options.launcher !== "hidden" && !widget && !failed) {
          placeholder = drawLauncher();
          container.append(placeholder);
        }
      },
      (cause) =>
        fail(
          `could not load the widget's stylesheet from ${base}: blocked by this page's Content-Security-Policy, ` +
            "or it fails its integrity check (changed since this loader was built).",
          cause,
        ),
    );

    const run = async () => {
      // import() takes no integrity, but it reuses this preload's verified fetch of the same
      // URL, and a preload that fails its check makes that import fail too. Added only now, so
      // a page nobody chats on never downloads the app.
      const glueCheck = document.createElement("link");
      glueCheck.rel = "modulepreload";
      root.append(pinned(glueCheck, ASSETS.glue));
      let glue;
      try {
        [glue] = await Promise.all([import(`${base}${ASSETS.glue.path}`), styled]);
      } catch (cause) {
        if (!failed) {
          fail(
            `could not load the widget's code from ${base}: blocked by this page's ` +
              "Content-Security-Policy, by missing CORS headers, by a file that fails its integrity " +
              "check (changed since this loader was built), or by an untrusted certificate " +
              `(for a local development certificate, open ${src.origin}/healthz once, accept it, and reload).`,
            cause,
          );
        }
        return;
      }
      if (failed) {
        return;
      }
      try {
        const wasm = fetch(`${base}${ASSETS.wasm.path}`, { integrity: ASSETS.wasm.integrity, credentials: "omit" });
        await glue.default({ module_or_path: wasm });
        const mounted = glue.mount(host, container, site, server, options);
        // The app's launcher is in place now; in this same task the placeholder goes (the page
        // never paints two launchers, or none), and so does focus, if it was there.
        const focused = placeholder !== null && root.activeElement === placeholder;
        placeholder?.remove();
        placeholder = null;
        if (focused) {
          container.querySelector(".launcher")?.focus();
        }
        widget = mounted;
      } catch (cause) {
        fail("the widget failed to start.", cause);
        return;
      }
      for (const [method, args] of queue.splice(0)) {
        widget[method](...args);
      }
    };

    let loading = false;
    load = () => {
      if (!loading && !failed) {
        loading = true;
        run();
      }
    };
    // Idle after the page's own load, so the widget never competes with the page for the
    // network or the main thread; Safari has no requestIdleCallback, hence the timer.
    const whenIdle = () => {
      if (window.requestIdleCallback) {
        window.requestIdleCallback(load, { timeout: 3000 });
      } else {
        setTimeout(load, 1000);
      }
    };
    if (document.readyState === "complete") {
      whenIdle();
    } else {
      window.addEventListener("load", whenIdle, { once: true });
    }
    if (loadWanted || options.open === "" || options.open === "true") {
      load();
    }
  };

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  }
})();
