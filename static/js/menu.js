// The header's menu on a phone: the "Menu" button opens and closes the links (CSS hides them
// below 900 px; on a wider screen the button is hidden and the links are always shown).
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("menu-toggle");
  const menu = document.getElementById("top-menu");
  if (!button || !menu) return;
  button.addEventListener("click", () => {
    const open = menu.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
});
