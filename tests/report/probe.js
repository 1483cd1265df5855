// Injected at the end of a Snakemake report (tests/test_report.py): walks the report's own UI
// and records what the browser shows, as JSON in a new pre element (id figure-check) of the DOM.
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const out = { menu: [], listed: [], figures: {}, captions: {} };
  await sleep(200);
  const links = () => [...document.querySelectorAll("nav a")];
  out.menu = links().map((a) => a.textContent.trim()).filter((t) => t);
  const category = links().find((a) => ["Run", "Results"].includes(a.textContent.trim()));
  if (category) { category.click(); await sleep(300); }
  const navText = document.querySelector("nav").textContent;
  out.listed = Object.values(results).map((r) => r.name).filter((n) => navText.includes(n));
  for (const [path, entry] of Object.entries(results)) {
    app.setView({ content: "img", contentPath: entry.data_uri, resultPath: path });
    await sleep(200);
    const img = [...document.querySelectorAll("img")].find((i) => i.getAttribute("src") === entry.data_uri);
    if (img && !img.complete) await new Promise((r) => { img.onload = img.onerror = r; });
    out.figures[path] = img ? { width: img.naturalWidth, height: img.naturalHeight } : null;
    out.captions[path] = document.createRange().createContextualFragment(entry.caption).textContent;
  }
  const pre = document.createElement("pre");
  pre.id = "figure-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
