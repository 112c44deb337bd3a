// HolaOlas behaviour that htmx attributes cannot express (no inline scripts: CSP script-src 'self').
(function () {
  "use strict";
})();
