// needtoknow pages work without this script; it only adds to them.
// The error summary takes the focus when a form comes back with errors.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
});
