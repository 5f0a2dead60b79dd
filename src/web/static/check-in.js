// Check-in at the door: each tap is saved at once; without a network the taps wait on
// the phone (localStorage) and leave as soon as it is back. The page works without
// this file: its "save" button sends the whole sheet.
(function () {
  "use strict";
  var form = document.getElementById("sheet");
  if (!form) return;
  var store = "es-check-in:" + form.getAttribute("action");
  var sync = document.getElementById("sync");
  var find = document.getElementById("find");
  var sending = false;
  var retry = null;

  function say(kind, detail) {
    var text = sync.getAttribute("data-" + kind) || "";
    var waiting = unsaved().length;
    sync.textContent = text.replace("{n}", waiting) + (detail ? " " + detail : "");
    sync.className = "sync " + kind;
  }

  // Participant ids (and "walk_ins") changed since the server last took the sheet.
  function unsaved() {
    try {
      return JSON.parse(localStorage.getItem(store) || "{}").changed || [];
    } catch (e) {
      return [];
    }
  }

  function mark(changed) {
    form.querySelectorAll(".person").forEach(function (li) {
      li.querySelector(".unsaved").hidden = changed.indexOf(li.getAttribute("data-id")) < 0;
    });
  }

  function totals() {
    var count = { present: 0, absent: 0, excused: 0, open: 0 };
    var names = {};
    form.querySelectorAll("input.mark, input[type=hidden][name^=mark_]").forEach(function (input) {
      names[input.name] = names[input.name] || "";
      if (input.type === "hidden" || input.checked) names[input.name] = input.value;
    });
    Object.keys(names).forEach(function (name) {
      count[names[name] || "open"] += 1;
    });
    var walkIns = 0;
    form.querySelectorAll("input.walk-in").forEach(function (input) {
      walkIns += parseInt(input.value, 10) || 0;
    });
    count.walk_ins = walkIns;
    Object.keys(count).forEach(function (k) {
      var cell = form.querySelector('[data-total="' + k + '"]');
      if (cell) cell.textContent = count[k];
    });
  }

  function sheet() {
    var data = new URLSearchParams(new FormData(form));
    data.set("in_progress", "true");
    return data.toString();
  }

  function remember(changedId) {
    var changed = unsaved();
    if (changedId && changed.indexOf(changedId) < 0) changed.push(changedId);
    localStorage.setItem(store, JSON.stringify({ body: sheet(), changed: changed }));
    mark(changed);
  }

  function send() {
    var pending;
    try {
      pending = JSON.parse(localStorage.getItem(store) || "null");
    } catch (e) {
      pending = null;
    }
    if (!pending || sending) return;
    sending = true;
    say("saving");
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Check-In": "tap" },
      body: pending.body,
    }).then(function (response) {
      sending = false;
      // A session that ended sends the tap to the sign-in page: nothing was saved, and
      // the taps stay here until this phone is signed in again.
      if (response.redirected) {
        say("signed-out");
        return;
      }
      return response.json().then(function (answer) {
        if (response.ok && answer.saved === true) {
          var now = JSON.parse(localStorage.getItem(store) || "null");
          if (now && now.body === pending.body) {
            localStorage.removeItem(store);
            mark([]);
            say("saved");
          } else {
            send();
          }
          return;
        }
        // Refused (recording closed, form expired): resending would not help.
        say("refused", answer.error || String(response.status));
      }, function () {
        say("refused", String(response.status));
      });
    }, function () {
      sending = false;
      say("offline");
      clearTimeout(retry);
      retry = setTimeout(send, 3000);
    });
  }

  // The whole sheet was just saved (this page is its answer): taps kept from before
  // it were in it.
  if (/[?&]saved=1(&|$)/.test(location.search)) localStorage.removeItem(store);

  // Taps left from before a reload (or a lost network) come back first.
  (function restore() {
    var pending;
    try {
      pending = JSON.parse(localStorage.getItem(store) || "null");
    } catch (e) {
      pending = null;
    }
    if (!pending) return;
    new URLSearchParams(pending.body).forEach(function (value, name) {
      var radio = form.querySelector('input.mark[name="' + name + '"][value="' + value + '"]');
      if (radio) radio.checked = true;
      var number = form.querySelector('input.walk-in[name="' + name + '"]');
      if (number) number.value = value;
    });
    mark(pending.changed || []);
    totals();
    send();
  })();

  form.addEventListener("change", function (event) {
    var person = event.target.closest(".person");
    remember(person ? person.getAttribute("data-id") : "walk_ins");
    totals();
    send();
  });
  window.addEventListener("online", send);
  setInterval(send, 10000);

  // The walk-in counter's − and + buttons.
  form.querySelectorAll("button.step").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-for"));
      var next = (parseInt(input.value, 10) || 0) + parseInt(button.getAttribute("data-step"), 10);
      input.value = Math.max(0, Math.min(parseInt(input.max, 10) || 200, next));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  });

  // The search box filters as you type; Enter marks the first match present.
  if (find) {
    var people = Array.prototype.slice.call(form.querySelectorAll(".person"));
    // "aicha" finds Aïcha: accents and case aside.
    var plain = function (text) {
      return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    };
    var filter = function () {
      var q = plain(find.value.trim());
      people.forEach(function (li) {
        li.hidden = q !== "" && plain(li.getAttribute("data-name")).indexOf(q) < 0 &&
          plain(li.getAttribute("data-code")).indexOf(q) < 0;
      });
    };
    find.addEventListener("input", filter);
    find.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      var first = people.filter(function (li) { return !li.hidden; })[0];
      if (!first) return;
      var present = first.querySelector('input.mark[value="present"]');
      present.checked = true;
      present.dispatchEvent(new Event("change", { bubbles: true }));
      find.value = "";
      filter();
    });
    var submit = document.querySelector(".find-submit");
    if (submit) submit.hidden = true;
    filter();
  }
})();
