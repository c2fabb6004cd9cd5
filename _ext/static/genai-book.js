// A click anywhere on a dropdown's title opens or closes it. sphinx-exercise puts a link to
// the exercise inside each solution's title; sphinx-togglebutton's click handler finds no
// button for a click on that link (an uncaught "button is not defined"), and the browser
// jumps to the exercise instead of showing the solution. Captured first, such a click
// becomes a click on the title's toggle button.
document.addEventListener("click", (event) => {
  const link = event.target.closest(".admonition.dropdown > .admonition-title a");
  if (!link) return;
  const button = link.closest(".admonition-title").querySelector(".toggle-button");
  if (!button) return;
  event.preventDefault();
  event.stopPropagation();
  button.click();
}, true);
