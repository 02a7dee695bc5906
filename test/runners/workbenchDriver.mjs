/* global document, window, setInterval */
// What a suite inside VS Code asks its runner to do on the workbench page, as a person would:
// show the SSH Tunnels view, read its rows (text, screen-reader label, icon, inline actions),
// click a row, one of its buttons or a view title button, open a row's context menu and pick in
// it, press keys, type, read the quick input, hover a row and see whether its tooltip stays, read
// and click notifications, read the status bar and the Settings editor. The runner serves these
// as routes over HTTP on loopback (test/helpers/workbench.ts is the suite's side).

/**
 * Collects the text of every notification the page shows, from its first paint on, and hands
 * each new one to `sshTunnelsToast` (exposed by the runner): one that comes and goes between two
 * looks of the suite is still seen.
 */
export function watchToasts() {
  const seen = new Set();
  setInterval(() => {
    for (const el of document.querySelectorAll('.notification-toast .notification-list-item, .notifications-center .notification-list-item')) {
      const text = el.innerText.replace(/\s+/g, ' ').trim();
      if (text && !seen.has(text)) {
        seen.add(text);
        window.sshTunnelsToast(text);
      }
    }
  }, 100);
}

const VIEW_ROWS = '.part.sidebar .pane-body .monaco-list-row';

/** The routes; `toasts` is the list watchToasts fills; a route that fails leaves a screenshot in `results` (when given). */
export function workbenchRoutes(page, toasts, results) {
  let failures = 0;
  const routes = pageRoutes(page, toasts);
  return Object.fromEntries(
    Object.entries(routes).map(([name, route]) => [
      name,
      async (body) => {
        try {
          return await route(body);
        } catch (err) {
          if (results) await page.screenshot({ path: `${results}/driver-${name.slice(1)}-${++failures}.png` }).catch(() => undefined);
          throw err;
        }
      },
    ]),
  );
}

function pageRoutes(page, toasts) {
  const rows = () => page.locator(VIEW_ROWS);
  /** The row whose text or screen-reader label contains `match` (the first such), once the view shows one. */
  async function row(match) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const index = (await readRows()).findIndex((r) => r.text.includes(match) || r.label.includes(match));
      if (index >= 0) return rows().nth(index);
      if (Date.now() > deadline) throw new Error(`no row shows ${JSON.stringify(match)}; the rows: ${JSON.stringify((await readRows()).map((r) => r.text))}`);
      await settle(100);
    }
  }
  const quickInput = () => page.locator('.quick-input-widget');
  const settle = (ms = 300) => page.waitForTimeout(ms);

  /** A context menu or hover left open takes the next click: close it first. */
  async function closeMenus() {
    if (await page.locator('.context-view .monaco-menu').isVisible().catch(() => false)) {
      await page.keyboard.press('Escape');
      await settle(200);
    }
  }

  async function showView() {
    await closeMenus();
    if (!(await page.locator('.part.sidebar .composite.title', { hasText: /SSH TUNNELS/i }).isVisible().catch(() => false))) {
      await page.locator('.part.activitybar [aria-label^="SSH Tunnels"]').first().click();
    }
    await page.locator('.part.sidebar .composite.title', { hasText: /SSH TUNNELS/i }).waitFor({ timeout: 15_000 });
    await settle();
  }

  async function readRows() {
    return rows().evaluateAll((els) =>
      els.map((el) => ({
        // Label, a space, description (the page draws them apart; innerText runs them together).
        text: [el.querySelector('.label-name'), el.querySelector('.label-description')].map((e) => e?.textContent ?? '').join(' ').replace(/\s+/g, ' ').trim(),
        label: el.getAttribute('aria-label') ?? '',
        level: Number(el.getAttribute('aria-level')),
        expanded: el.getAttribute('aria-expanded'),
        focused: el.classList.contains('focused'),
        icon: [...(el.querySelector('.custom-view-tree-node-item-icon')?.classList ?? [])].find((c) => c.startsWith('codicon-')) ?? '',
        iconColor: el.querySelector('.custom-view-tree-node-item-icon')?.style.color ?? '',
        actions: [...el.querySelectorAll('.actions .action-label')].map((a) => a.getAttribute('aria-label') ?? ''),
      })),
    );
  }

  async function readQuickInput() {
    const qi = quickInput();
    if (!(await qi.isVisible().catch(() => false))) return { visible: false };
    return qi.evaluate((el) => ({
      visible: true,
      title: el.querySelector('.quick-input-title')?.innerText ?? '',
      value: el.querySelector('.quick-input-box input')?.value ?? '',
      message: el.querySelector('.quick-input-message')?.innerText ?? '',
      messageSeverity: [...(el.querySelector('.quick-input-message')?.classList ?? [])].find((c) => /^(error|warning|info)$/.test(c)) ?? el.querySelector('.monaco-inputbox')?.className.match(/(error|warning|info)/)?.[1] ?? '',
      items: [...el.querySelectorAll('.quick-input-list .monaco-list-row')].map((r) => r.innerText.replace(/\s+/g, ' ').trim()),
      active: el.querySelector('.quick-input-list .monaco-list-row.focused')?.innerText.replace(/\s+/g, ' ').trim() ?? '',
      back: !!el.querySelector('.codicon-quick-input-back'),
    }));
  }

  /** The hover widget's text, if one shows. */
  const hoverText = async () => {
    const h = page.locator('.monaco-hover:visible').first();
    return (await h.isVisible().catch(() => false)) ? (await h.innerText()).trim() : null;
  };

  return {
    '/showView': async () => showView(),
    '/rows': async () => {
      await showView();
      return readRows();
    },
    /** Clicks a row (`button: 'right'` opens its menu), or one of its inline buttons (`action`: its label). */
    '/clickRow': async ({ match, action, button }) => {
      await showView();
      const r = await row(match);
      if (action) {
        await r.hover();
        await r.locator(`.actions .action-label[aria-label^="${action}"]`).click();
      } else await r.click({ button: button ?? 'left' });
      await settle();
    },
    /** A button of the view's title bar, by its label ("Create Tunnel"), or an entry of its "…" menu. */
    '/clickTitle': async ({ action, menu }) => {
      await showView();
      const title = page.locator('.part.sidebar .composite.title');
      if (menu) {
        await title.locator('[aria-label="Views and More Actions..."]').click();
        const entry = page.locator('.context-view .monaco-menu .action-label', { hasText: menu }).first();
        await entry.waitFor({ timeout: 5000 }).catch(async () => {
          throw new Error(`no "${menu}" in the view's menu: ${JSON.stringify(await page.locator('.context-view .action-label').allInnerTexts())}`);
        });
        // A menu just opened may let a click through before it takes them.
        await settle();
        await entry.click();
      } else await title.locator(`.action-label[aria-label^="${action}"]`).click();
      await settle();
    },
    /** The entries of the open context menu; with `item`, clicks it. */
    '/menu': async ({ item }) => {
      const menu = page.locator('.context-view .monaco-menu');
      await menu.waitFor({ timeout: 5000 });
      const items = (await menu.locator('.action-label').allInnerTexts()).filter(Boolean);
      if (item) {
        await menu.locator('.action-label', { hasText: item }).first().click();
        await settle();
      }
      return items;
    },
    '/keys': async ({ keys }) => {
      for (const k of keys) {
        await page.keyboard.press(k);
        await settle(150);
      }
      await settle();
    },
    '/type': async ({ text }) => {
      await page.keyboard.type(text, { delay: 10 });
      await settle();
    },
    '/quickInput': async () => readQuickInput(),
    /** Clicks the quick input's Back button. */
    '/back': async () => {
      await quickInput().locator('.codicon-quick-input-back').first().click();
      await settle(500);
    },
    /** Hovers a row; resolves with the tooltip's text when it shows, and after `holdMs` more of hovering (null if it went). */
    '/hover': async ({ match, holdMs }) => {
      await showView();
      await page.mouse.move(5, 5);
      await settle(200);
      const r = await row(match);
      const box = await r.boundingBox();
      await page.mouse.move(box.x + 40, box.y + box.height / 2);
      await page.mouse.move(box.x + 44, box.y + box.height / 2, { steps: 3 });
      const deadline = Date.now() + 10_000;
      let first = null;
      while (!first && Date.now() < deadline) {
        first = await hoverText();
        if (!first) await settle(100);
      }
      let still = first;
      // Looked at a few times, so a tooltip that closes and opens again in between is caught too.
      for (let waited = 0; still && waited < (holdMs ?? 0); waited += 250) {
        await settle(250);
        still = await hoverText();
      }
      return { first, still };
    },
    '/mouseAway': async () => {
      await page.mouse.move(900, 700);
      await settle();
    },
    '/toasts': async () => toasts,
    /** Clicks a button of the notification whose text contains `match` (in a toast, or in the notification center). */
    '/toastButton': async ({ match, button }) => {
      const inToast = page.locator('.notification-toast .notification-list-item', { hasText: match }).first();
      if (!(await inToast.isVisible().catch(() => false))) {
        await page.locator('.part.statusbar [aria-label*="Notifications"]').first().click();
        await settle();
      }
      const item = page.locator('.notification-toast .notification-list-item, .notifications-center .notification-list-item').filter({ hasText: match }).first();
      await item.locator('.monaco-button', { hasText: button }).first().click();
      await settle();
      await page.keyboard.press('Escape');
    },
    /** Closes every notification, so the next looks see only new ones. */
    '/clearToasts': async () => {
      await page.locator('.part.statusbar [aria-label*="Notifications"]').first().click();
      await settle();
      const clear = page.locator('.notifications-center [aria-label^="Clear All Notifications"]');
      if (await clear.isVisible().catch(() => false)) await clear.click();
      await page.keyboard.press('Escape');
      toasts.length = 0;
      await settle();
    },
    '/statusBar': async () =>
      page.locator('.part.statusbar .statusbar-item').evaluateAll((els) => els.map((e) => ({ id: e.id, text: e.innerText.trim(), label: e.getAttribute('aria-label') ?? '' }))),
    /** In the Settings editor's table of contents, clicks `entry` (scrolling to it); resolves with the setting titles then shown. */
    '/settingsToc': async ({ entry }) => {
      const toc = page.locator('.settings-editor .settings-toc-container');
      await toc.locator('.monaco-list-row').first().waitFor({ timeout: 15_000 });
      const wanted = toc.locator('.monaco-list-row', { hasText: entry }).first();
      await toc.locator('.monaco-list-row', { hasText: 'Extensions' }).first().click();
      for (let i = 0; i < 40 && !(await wanted.isVisible().catch(() => false)); i++) {
        await toc.hover();
        await page.mouse.wheel(0, 200);
        await settle(100);
      }
      await wanted.click();
      await settle(1000);
      const titles = await page.locator('.settings-editor .setting-item-contents .setting-item-title').allInnerTexts();
      return { titles, toc: await toc.locator('.monaco-list-row').allInnerTexts() };
    },
    '/screenshot': async ({ path: file }) => {
      await page.screenshot({ path: file });
    },
  };
}
