// The classify page: a box that ticks every item on the page, and only the
// fields the chosen kind needs. Without JavaScript every field shows, the
// boxes are ticked one by one, and the server says what is missing.
(function () {
  "use strict";
  var NEEDS = {
    disbursement: ["fund", "category", "public_description", "private_note"],
    fee: ["fund"],
    fund: ["fund"],
    account: ["account"]
  };
  var ALL = ["fund", "category", "public_description", "private_note", "account"];
  var choice = document.getElementById("choice");
  if (choice && choice.tagName === "SELECT") {
    var update = function () {
      var wanted = NEEDS[choice.value] || ALL;
      ALL.forEach(function (name) {
        var input = document.getElementById(name);
        var holder = input && input.closest(".field");
        if (!holder) { return; }
        var hide = wanted.indexOf(name) < 0 && !holder.classList.contains("invalid");
        holder.style.display = hide ? "none" : "";
      });
    };
    choice.addEventListener("change", update);
    update();
  }
  var table = document.querySelector("table[data-tick-all]");
  if (table) {
    var head = table.querySelector("thead th");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.setAttribute("aria-label", table.getAttribute("data-tick-all"));
    head.appendChild(box);
    box.addEventListener("change", function () {
      Array.prototype.forEach.call(table.querySelectorAll('tbody input[name="item"]'), function (b) { b.checked = box.checked; });
    });
  }
})();
