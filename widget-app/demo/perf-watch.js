// Records what the widget costs the page's main thread, for the e2e test that reports its
// budgets (`?perf-watch`): every long task (over 50 ms) and when `palisade:ready` came. Loaded
// synchronously before the widget's loader, like csp-watch.js, so nothing of the widget's goes
// unseen.
(() => {
  "use strict";
  const watch = {
    longTasksSupported: PerformanceObserver.supportedEntryTypes.includes("longtask"),
    longTasks: [],
    readyAt: null,
  };
  window.palisadePerf = watch;
  document.addEventListener("palisade:ready", () => {
    watch.readyAt = performance.now();
  }, { once: true });
  if (watch.longTasksSupported) {
    new PerformanceObserver((list) => {
      for (const task of list.getEntries()) {
        watch.longTasks.push({ startTime: task.startTime, duration: task.duration, name: task.name });
      }
    }).observe({ type: "longtask", buffered: true });
  }
})();
