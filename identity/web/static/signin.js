// The sign-in form: the card and PIN keyboards follow the home library chosen. Each option of
// the list says which keyboard its library's cards and PINs need (data-card, data-pin:
// "numeric" or "text"); the server already set them for the library chosen when the page was
// made, so without this script the page still works (a text keyboard types digits too). A
// library that signs its patrons in itself (data-own) needs no card or PIN: the fields are
// hidden while it is chosen (without this script they are shown, and left empty they are
// not asked for).
"use strict";
(function () {
  var list = document.getElementById("library");
  var card = document.getElementById("card");
  var pin = document.getElementById("pin");
  var fields = document.getElementById("card-and-pin");
  if (!list || !card || !pin) {
    return;
  }
  function follow() {
    var chosen = list.options[list.selectedIndex];
    if (chosen) {
      card.setAttribute("inputmode", chosen.getAttribute("data-card") || "text");
      pin.setAttribute("inputmode", chosen.getAttribute("data-pin") || "text");
      var own = chosen.getAttribute("data-own") === "yes";
      if (fields) {
        fields.hidden = own;
      }
      card.required = !own;
      pin.required = !own;
    }
  }
  list.addEventListener("change", follow);
  follow();
})();
