// printwatch dashboard: a little progressive enhancement; every page works without it.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}

// Filters: a changed select submits the form at once.
document.querySelectorAll("form[data-autosubmit] select").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});

// Call for assistance: POST to the appliance's assist endpoint with the session's CSRF token,
// then show what the immediate poll read.
document.querySelectorAll("form[data-assist]").forEach((form) => {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("assist-result");
    const button = form.querySelector("button");
    button.disabled = true;
    out.textContent = "Polling the printer now...";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "X-CSRF-Token": csrfToken() },
        credentials: "same-origin",
      });
      const doc = await response.json();
      if (!response.ok) {
        out.textContent = "Not done: " + (doc.error || response.status);
      } else if (!doc.reachable) {
        out.textContent = "Assistance requested; the printer did not answer (" + (doc.error || "no answer") + ").";
      } else {
        const status = doc.status || {};
        const errors = (status.errors || []).join(", ") || "none";
        out.textContent =
          "Assistance requested at " + doc.time + ": " + (status.device || "unknown") + ", " +
          (status.printer || "unknown") + "; errors: " + errors + ".";
      }
    } catch (err) {
      out.textContent = "Not done: " + err;
    } finally {
      button.disabled = false;
    }
  });
});
