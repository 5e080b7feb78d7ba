// Counts Content-Security-Policy violations on the demo page, so people (and the e2e tests)
// can see that the widget runs under this page's strict policy without tripping it. Loaded
// synchronously before the widget so that no violation can happen before it listens.
(() => {
  "use strict";
  const root = document.documentElement;
  root.dataset.cspViolations = "0";
  document.addEventListener("securitypolicyviolation", (event) => {
    root.dataset.cspViolations = String(Number(root.dataset.cspViolations) + 1);
    console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
  });
})();
