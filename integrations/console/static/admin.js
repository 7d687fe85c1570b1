// Admin console: follows a running training without reloading the page.
// The status paragraph is a role="status" live region: screen readers hear each change.
(function () {
  "use strict";
  var box = document.getElementById("training");
  if (!box || box.dataset.running !== "true") return;
  var status = document.getElementById("training-status");
  var bar = document.getElementById("training-progress");
  var delayMs = 2000;

  function finished() {
    var link = document.createElement("a");
    link.href = "/console/admin/models";
    link.textContent = "Afficher le résultat";
    status.textContent = "Entraînement terminé. ";
    status.appendChild(link);
    if (bar) bar.remove();
  }

  function poll() {
    fetch("/console/admin/training", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (progress) {
        if (!progress.running) { finished(); return; }
        if (status.textContent !== progress.text) status.textContent = progress.text;
        if (bar) {
          bar.max = progress.epochs || 1;
          bar.value = progress.epoch || 0;
        }
        window.setTimeout(poll, delayMs);
      })
      .catch(function () {
        status.textContent = "Avancement momentanément indisponible ; nouvel essai dans quelques secondes.";
        window.setTimeout(poll, delayMs * 3);
      });
  }
  window.setTimeout(poll, delayMs);
})();
