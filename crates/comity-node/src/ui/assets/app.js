// comity web UI: live countdowns and live safeguard findings. Everything works without this file.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var labels = {
    en: ["overdue by", "left"], fr: ["en retard de", "restant"], es: ["vencido hace", "restante"],
    ru: ["просрочено на", "осталось"], zh: ["已逾期", "剩余"], ar: ["متأخر بمقدار", "متبقٍ"]
  };
  var words = labels[lang] || labels.en;
  var numbers;
  try { numbers = new Intl.NumberFormat(lang === "ar" ? "ar-EG" : lang); } catch (e) { numbers = null; }
  function n(v) { return numbers ? numbers.format(v) : String(v); }
  function span(ms) {
    var m = Math.floor(Math.abs(ms) / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    return (d ? n(d) + "d " : "") + n(h) + "h " + n(mm) + "m";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) { return; }
      var live = el.querySelector(".countdown-live");
      if (!live) { live = document.createElement("span"); live.className = "countdown-live"; el.appendChild(live); }
      var left = due - now;
      live.textContent = left < 0 ? words[0] + " " + span(left) : span(left) + " " + words[1];
    });
  }
  tick();
  setInterval(tick, 30000);

  var wizard = document.getElementById("wizard");
  if (!wizard) { return; }
  var timer = null, seq = 0;
  function refresh() {
    var body = new URLSearchParams(new FormData(wizard));
    body.set("mechanism", wizard.getAttribute("data-mechanism"));
    var mine = ++seq;
    fetch(wizard.getAttribute("data-findings"), {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) { return r.ok ? r.text() : null; }).then(function (text) {
      if (text === null || mine !== seq) { return; }
      var holder = document.createElement("div");
      holder.innerHTML = text;
      var fresh = holder.querySelector("#findings"), old = document.getElementById("findings");
      if (fresh && old) { old.replaceWith(fresh); }
    }).catch(function () {});
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 250); }
  wizard.addEventListener("input", later);
  wizard.addEventListener("change", later);
})();
