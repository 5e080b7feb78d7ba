// Shows a visible notice when the chat widget cannot load: the usual cause locally is that the
// browser has not yet accepted the chat server's self-signed development certificate.
(() => {
  "use strict";

  const widgetScript = document.querySelector('script[src$="/widget/palisade.js"]');
  const chatOrigin = widgetScript ? new URL(widgetScript.src, document.baseURI).origin : "the chat server";

  const showNotice = (detail) => {
    const notice = document.getElementById("palisade-demo-notice");
    const text = document.getElementById("palisade-demo-notice-text");
    if (!notice || !text) {
      return;
    }
    const healthz = document.createElement("a");
    healthz.href = `${chatOrigin}/healthz`;
    healthz.target = "_blank";
    healthz.rel = "noopener";
    healthz.textContent = `${chatOrigin}/healthz`;
    text.replaceChildren(
      " Open ",
      healthz,
      " once and accept the local certificate, then reload this page.",
      detail ? ` (${detail})` : "",
    );
    notice.hidden = false;
  };

  // The widget script is `async` and may have failed before this deferred script runs; its
  // error event is not replayed, so a script that never defined window.Palisade counts too.
  if (widgetScript) {
    widgetScript.addEventListener("error", () => showNotice("the widget script did not load"));
  }
  document.addEventListener("palisade:error", (event) => {
    showNotice(event.detail && event.detail.message);
  });
  window.addEventListener("load", () => {
    if (!window.Palisade) {
      showNotice("the widget script did not load");
    }
  });
})();
