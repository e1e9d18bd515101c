// Drives Debian's headless Chromium with playwright-core (which downloads no browser of its own):
//   node browser/drive.mjs page URL TIMEOUT_MS            opens URL, waits for window.longlinkResult, prints it as JSON
//   node browser/drive.mjs demo BASE_URL TIMEOUT_MS [PNG]  two demo chat pages exchange a message each way (PNG: screenshot)
// The browser is $CHROMIUM, else /usr/bin/chromium. Page console output goes to stderr. Exit code 0 when the
// scenario finished (the caller judges its result), 1 otherwise.
import { chromium } from "playwright-core";

const [mode, url, timeoutArg, png] = process.argv.slice(2);
const timeout = Number(timeoutArg ?? 60000);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
try {
  const context = await browser.newContext({ viewport: { width: 720, height: 640 } });
  const open = async (address, tag) => {
    const page = await context.newPage();
    page.on("console", (m) => process.stderr.write(`[${tag} ${m.type()}] ${m.text()}\n`));
    page.on("pageerror", (e) => process.stderr.write(`[${tag} pageerror] ${e.stack || e}\n`));
    await page.goto(address);
    return page;
  };
  if (mode === "page") {
    const page = await open(url, "page");
    await page.waitForFunction(() => window.longlinkResult !== undefined, null, { timeout, polling: 100 });
    console.log(JSON.stringify(await page.evaluate(() => window.longlinkResult)));
  } else if (mode === "demo") {
    const alice = await open(`${url}/demo?id=alice&to=bob&autoconnect`, "alice");
    const bob = await open(`${url}/demo?id=bob&to=alice&autoconnect`, "bob");
    for (const p of [alice, bob]) await p.waitForSelector('#status[data-state="connected"]', { timeout });
    const say = async (page, text) => {
      await page.fill("#say input[name=text]", text);
      await page.click("#say button");
    };
    await say(alice, "hello bob, from the alice tab");
    await bob.waitForSelector('li.msg[data-from="alice"]', { timeout });
    await say(bob, "hi alice!");
    await alice.waitForSelector('li.msg[data-from="bob"]', { timeout });
    await alice.waitForSelector("li.mine[data-acked=true]", { timeout });
    const got = async (page) => page.$$eval("li.msg", (els) => els.map((e) => e.textContent));
    if (png) await alice.screenshot({ path: png });
    console.log(JSON.stringify({ alice: await got(alice), bob: await got(bob),
      aliceStatus: await alice.textContent("#status") }));
  } else {
    throw new Error(`mode ${mode} (expected: page or demo)`);
  }
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
