// The sign-in form: the card and PIN keyboards follow the home library chosen. Each option of
// the list says which keyboard its library's cards and PINs need (data-card, data-pin:
// "numeric" or "text"); the server already set them for the library chosen when the page was
// made, so without this script the page still works (a text keyboard types digits too).
"use strict";
(function () {
  var list = document.getElementById("library");
  var card = document.getElementById("card");
  var pin = document.getElementById("pin");
  if (!list || !card || !pin) {
    return;
  }
  function follow() {
    var chosen = list.options[list.selectedIndex];
    if (chosen) {
      card.setAttribute("inputmode", chosen.getAttribute("data-card") || "text");
      pin.setAttribute("inputmode", chosen.getAttribute("data-pin") || "text");
    }
  }
  list.addEventListener("change", follow);
  follow();
})();
