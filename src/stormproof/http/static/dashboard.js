// stormproof dashboard: the only script. Live updates over Server-Sent Events and a
// confirmation prompt before every write. Everything inserted comes either as HTML the
// server rendered and escaped, or as text (textContent) -- never as built-up markup.

for (const box of document.querySelectorAll("[data-sse]")) {
  const ids = box.dataset.target.split(" ");
  const target = document.getElementById(ids[0]);
  const source = new EventSource(box.dataset.sse);
  for (const id of ids) {  // an event named after an element replaces its rows
    source.addEventListener(id, (e) => { document.getElementById(id).innerHTML = e.data; });
  }
  source.addEventListener("status", (e) => {
    const s = JSON.parse(e.data);
    if (s.state === "NONE") { source.close(); return; }
    target.textContent = `${s.state}: moved ${s.moved} of ${s.to_move}`;
    if (s.state !== "RUNNING" && s.state !== "CANCELLING") source.close();
  });
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (e) => {
    if (!window.confirm(form.dataset.confirm)) e.preventDefault();
  });
}
