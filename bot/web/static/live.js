// The live view: lines and items arrive as server-sent events and are added to the page;
// when the meeting ends the page turns into its minutes. The HTML in each event was escaped
// by the server exactly as the rest of the page was.
"use strict";
(function () {
  var status = document.getElementById("live-status");
  if (!status || !window.EventSource) { return; }
  var id = status.getAttribute("data-meeting");
  var line = status.getAttribute("data-line");
  var item = status.getAttribute("data-item");
  var log = document.getElementById("log");
  var items = document.getElementById("live-items");
  var text = document.getElementById("live-text");

  function span(cls, content) {
    var el = document.createElement("span");
    el.className = cls;
    el.textContent = content;
    return el;
  }

  function addLine(data) {
    if (document.getElementById("l-" + data.n)) { return; }
    var row = document.createElement("div");
    row.className = "line fresh" + (data.action ? " act" : "");
    row.id = "l-" + data.n;
    var tm = document.createElement("a");
    tm.className = "tm";
    tm.href = "#l-" + data.n;
    tm.textContent = data.clock;
    row.appendChild(tm);
    row.appendChild(document.createTextNode(" "));
    row.appendChild(span("nk h" + data.hue, data.action ? "* " + data.nick : "<" + data.nick + ">"));
    row.appendChild(document.createTextNode(" "));
    var body = span(data.action ? "ac" : "tx", "");
    body.innerHTML = data.html;
    row.appendChild(body);
    var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    log.appendChild(row);
    if (atBottom) { row.scrollIntoView({block: "end"}); }
  }

  function addItem(data) {
    if (items.querySelector('li[data-item="' + data.id + '"]')) { return; }
    var li = document.createElement("li");
    li.setAttribute("data-item", data.id);
    if (data.label) {
      li.appendChild(span("kind k-" + data.kind, data.label));
      li.appendChild(document.createTextNode(" "));
    }
    var body = span("text", "");
    body.innerHTML = data.html;
    li.appendChild(body);
    li.appendChild(document.createTextNode(" "));
    var ref = document.createElement("a");
    ref.className = "ref";
    ref.href = "/meeting/" + id + "/log#l-" + data.line;
    ref.textContent = data.nick + ", " + data.clock;
    li.appendChild(ref);
    items.appendChild(li);
  }

  function keepItems(ids) {
    var standing = {};
    ids.forEach(function (n) { standing[String(n)] = true; });
    Array.prototype.slice.call(items.children).forEach(function (li) {
      if (!standing[li.getAttribute("data-item")]) { li.remove(); }
    });
  }

  var source = new EventSource("/meeting/" + id + "/events?line=" + line + "&item=" + item);
  source.addEventListener("line", function (e) { addLine(JSON.parse(e.data)); });
  source.addEventListener("item", function (e) { addItem(JSON.parse(e.data)); });
  source.addEventListener("items", function (e) { keepItems(JSON.parse(e.data)); });
  source.addEventListener("end", function (e) {
    source.close();
    text.textContent = "The meeting has ended; opening its minutes.";
    window.location.assign(e.data);
  });
})();
