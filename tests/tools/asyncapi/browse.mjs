// Opens the gateway's documentation pages in headless Chromium (Debian's, through playwright-core) and
// prints what they show as one JSON object. Every request off loopback is recorded and refused, so a
// page that needs the network shows it. Usage: node browse.mjs BASE_URL USERNAME PASSWORD
import { chromium } from "playwright-core";

const [base, username, password] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const out = { offsite: [], console_errors: [], page_errors: [] };

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
const WAIT = 120000;  // a loaded 2-core machine takes its time to render ~200 operations
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (["http:", "https:", "ws:", "wss:"].includes(url.protocol) && !LOOPBACK.has(url.hostname)) {
      out.offsite.push(url.href);
      return route.abort("blockedbyclient");
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on("console", (m) => { if (m.type() === "error") out.console_errors.push(m.text()); });
  page.on("pageerror", (e) => out.page_errors.push(String(e)));

  // -- /docs: Swagger UI
  await page.goto(`${base}/docs`, { waitUntil: "load" });
  await page.waitForSelector(".opblock-tag-section", { timeout: WAIT });
  out.docs = {
    title: await page.textContent(".info .title"),
    tags: await page.$$eval(".opblock-tag", (els) => els.map((e) => e.getAttribute("data-tag"))),
    errors: await page.$$eval(".errors-wrapper", (els) => els.map((e) => e.textContent)),
    authorize_button: (await page.$$(".btn.authorize")).length,
  };
  // Sign in through "Try it out" on POST /api/v1/auth/token, then call GET /api/v1/me with the token.
  const tryOut = async (method, path, body) => {
    const [tag, id] = await page.evaluate(([m, p]) => {
      const op = window.ui.specSelectors.specJson().toJS().paths[p][m];
      return [op.tags[0], op.operationId];
    }, [method, path]);
    const section = page.locator(`.opblock-tag[data-tag="${tag}"]`);
    if ((await section.getAttribute("data-is-open")) !== "true") await section.click();
    const op = page.locator(`#operations-${tag}-${id}`);
    await op.locator(".opblock-summary").first().click();
    await op.locator(".try-out__btn").click();
    if (body !== undefined) await op.locator("textarea.body-param__text").fill(body);
    await op.locator("button.execute").click();
    const status = op.locator(".live-responses-table tbody .response-col_status").first();
    await status.waitFor({ timeout: WAIT });
    return (await status.textContent()).trim();
  };
  out.docs.sign_in_status = await tryOut("post", "/api/v1/auth/token", JSON.stringify({ username, password }));
  out.docs.authorized = await page.evaluate(() => Object.keys(window.ui.authSelectors.authorized().toJS()));
  out.docs.me_status = await tryOut("get", "/api/v1/me");

  // -- /docs/events: the AsyncAPI React component
  await page.goto(`${base}/docs/events`, { waitUntil: "load" });
  await page.waitForSelector("li[id^='operation-send-']", { timeout: WAIT });
  out.events = {
    title: await page.textContent(".sidebar--content h1"),
    groups: await page.$$eval(".sidebar--content a[href='#operations'] + ul > li > div > button span",
      (els) => els.map((e) => e.textContent.trim())),
    send_operations: (await page.$$("li[id^='operation-send-']")).length,
    receive_operations: (await page.$$("li[id^='operation-receive-']")).length,
    messages: (await page.$$("li[id^='message-']")).length,
  };
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
