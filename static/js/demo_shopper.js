/* The demo shop's signed-in shopper: what a real shop's page sets before the widget tag. */
(function () {
  "use strict";
  var data = document.getElementById("demo-shopper");
  if (data) window.SupportdeskChat = JSON.parse(data.textContent);
})();
