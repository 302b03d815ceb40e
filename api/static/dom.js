/* The DOM helpers both of Milkbot's pages use (the public dashboard and the operator page): they
 * touch the page only where something changed, so a refresh every few seconds neither flickers
 * nor rebuilds what stands. Loaded before the page's own script (both `defer`, in order), as
 * `window.MilkbotDom`. Text is always written as text, never parsed as HTML.
 */
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setAttr(node, name, value) {
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }

  /** Makes ``parent``'s children match ``items`` by key: existing elements are updated and kept,
   * new ones created, missing ones removed, and the order fixed with as few moves as it takes.
   * Returns the elements it created. */
  function sync(parent, items, keyOf, create, update) {
    const existing = new Map();
    for (const child of [...parent.children]) {
      if (child.dataset.key !== undefined) existing.set(child.dataset.key, child);
      else child.remove();
    }
    let cursor = parent.firstElementChild;
    const created = [];
    for (const item of items) {
      const key = String(keyOf(item));
      let node = existing.get(key);
      if (node) {
        existing.delete(key);
      } else {
        node = create(item);
        node.dataset.key = key;
        created.push(node);
      }
      update(node, item);
      if (node === cursor) cursor = cursor.nextElementSibling;
      else parent.insertBefore(node, cursor);
    }
    for (const stale of existing.values()) stale.remove();
    return created;
  }

  window.MilkbotDom = Object.freeze({ $, el, setText, setAttr, sync });
})();
