// A little script where it earns its place; every page works without it.
(function () {
  "use strict";

  function words(seconds) {
    var s = Math.abs(Math.trunc(seconds)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (h) return h + "小时" + m + "分";
    return m ? m + "分" + String(r).padStart(2, "0") + "秒" : r + "秒";
  }

  // <time class="countdown" datetime="…">: live time left before the deadline.
  function tick() {
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000;
      el.textContent = left >= 0 ? "剩余" + words(left) : "已超时" + words(left);
      el.classList.toggle("late", left < 0);
    });
  }

  // <main data-refresh="30">: a board refreshes itself unless someone is typing.
  function refresh() {
    var main = document.querySelector("[data-refresh]");
    if (!main) return;
    setInterval(function () {
      var el = document.activeElement;
      if (el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT")) return;
      if (document.querySelector("details[open]")) return;
      location.reload();
    }, Number(main.getAttribute("data-refresh")) * 1000);
  }

  // The operator's case form: suggest a category and warn about similar open cases as it is typed.
  function caseForm() {
    var form = document.querySelector("form[data-suggest]");
    if (!form) return;
    var hint = document.getElementById("category-suggestion"), similar = document.getElementById("similar-cases");
    var timer = null;
    function check() {
      var params = new URLSearchParams();
      ["description", "address", "grid_code"].forEach(function (name) {
        var field = form.elements[name];
        if (field && field.value) params.set(name, field.value);
      });
      fetch(form.getAttribute("data-suggest") + "?" + params.toString(), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) {
          if (!answer) return;
          hint.textContent = answer.category_name ? "建议分类：" + answer.category_name : "";
          var select = form.elements.category;
          if (answer.category && select && !select.dataset.touched) select.value = answer.category;
          similar.innerHTML = "";
          if (answer.similar && answer.similar.length) {
            var p = document.createElement("p");
            p.className = "warning";
            p.textContent = "同一网格或地址已有未办结的类似诉求：";
            answer.similar.forEach(function (c) {
              var a = document.createElement("a");
              a.href = "/cases/" + encodeURIComponent(c.case_no);
              a.textContent = " " + c.case_no + "（" + c.status_text + "）";
              p.appendChild(a);
            });
            similar.appendChild(p);
          }
        }).catch(function () {});
    }
    form.addEventListener("input", function (event) {
      if (event.target.name === "category") event.target.dataset.touched = "1";
      clearTimeout(timer);
      timer = setTimeout(check, 400);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    refresh();
    caseForm();
  });
})();
